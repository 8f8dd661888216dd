"""Loading machinery shared by the benchmarks: layouts, failing loudly, bugs vs bad rows, images in zips,
HF cache folders, and `python -m mmreason.eval.check` on every fixture layout."""

import os
import random
import subprocess
import sys

import pytest
import releases as R

from mmreason.eval.benchmarks import DataLoadError, MissingDataError, get_benchmark
from mmreason.eval.benchmarks.release import ImageResolver, load_image
from mmreason.eval.check import main as check_main


def test_every_row_skipped_fails_naming_the_rows(tmp_path):
    """Regression: a load whose every row is skipped raised nothing and scored 0.0 with n = 0."""
    root = R.mathvista_github(tmp_path)
    for p in (root / "data" / "images").iterdir():
        p.unlink()
    with pytest.raises(DataLoadError) as e:
        get_benchmark("mathvista").load(root)
    msg = str(e.value)
    assert msg.startswith("mathvista: layout 'github'") and "none of the 4 rows could be read" in msg
    assert "row 1: image 'images/1.jpg' not found" in msg and "row 10:" in msg


def test_skipped_share_threshold(tmp_path):
    root = R.mathvision_github(tmp_path)
    (root / "images" / "7.jpg").unlink()  # 1 of 4 rows (25 %) cannot be read
    with pytest.raises(DataLoadError, match=r"1 of 4 rows \(25\.0%\) were skipped, more than "
                                            r"eval.max_skipped_fraction=0.05.*\n  row 7: image 'images/7.jpg' not found"):
        get_benchmark("mathvision").load(root)
    assert len(get_benchmark("mathvision", max_skipped_fraction=0.25).load(root).records) == 3  # at the limit: ok
    loaded = get_benchmark("mathvision").load(root, enforce=False)  # eval.check reports instead of raising
    assert [s["row_id"] for s in loaded.skipped] == ["7"] and loaded.skipped_share == 0.25


def test_loader_bugs_raise_instead_of_skipping(tmp_path, monkeypatch):
    """Regression: KeyError/TypeError/AttributeError/IndexError inside a loader are bugs, not bad rows."""
    from mmreason.eval.benchmarks.mmstar import MMStar

    def buggy(self, row_id, row):
        return row["no such column"]

    monkeypatch.setattr(MMStar, "to_record", buggy)
    with pytest.raises(KeyError) as e:
        get_benchmark("mmstar").load(R.mmstar_hf(tmp_path))
    assert any("mmstar: while reading row 0 of" in n for n in e.value.__notes__)


def test_no_known_layout_lists_the_accepted_ones(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(MissingDataError) as e:
        get_benchmark("dynamath").load(tmp_path)
    assert "data/sample[0-9]*-*.parquet" not in str(e.value)  # names, not globs
    assert "hf: HF DynaMath/DynaMath_Sample" in str(e.value) and "vlmevalkit: VLMEvalKit DynaMath.tsv" in str(e.value)
    with pytest.raises(MissingDataError, match="eval.data.mathvista"):
        get_benchmark("mathvista").load(tmp_path / "nope")


def test_hf_cache_folder_resolves_to_its_snapshot(tmp_path):
    """`huggingface-cli download` / snapshot_download leave datasets--org--name/snapshots/<rev>/; pointing at
    the cache folder reads the newest snapshot."""
    repo = tmp_path / "datasets--AI4Math--MathVista"
    R.mathvista_hf(repo / "snapshots" / "c12acf2432ad32e93b2c5adbbb6b6b4c52d9c59c")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("c12acf2432ad32e93b2c5adbbb6b6b4c52d9c59c")
    loaded = get_benchmark("mathvista").load(repo)
    assert loaded.layout == "hf" and len(loaded.records) == 4


def test_zipped_images_read_in_place_or_extracted_once(tmp_path):
    root = R.mathvista_github(tmp_path / "repo", zipped=True)
    in_place = get_benchmark("mathvista").load(root)
    assert in_place.records[0]["images"][0]["bytes"] == R.jpg_bytes("red")
    cache = tmp_path / "cache"
    first = get_benchmark("mathvista", image_cache=cache).load(root)
    path = first.records[0]["images"][0]["path"]
    assert path.startswith(str(cache)) and open(path, "rb").read() == R.jpg_bytes("red")
    mtime = os.stat(path).st_mtime_ns
    get_benchmark("mathvista", image_cache=cache).load(root)
    assert os.stat(path).st_mtime_ns == mtime  # extracted once, reused


def test_images_resolve_relative_to_the_data_file_then_the_root(tmp_path):
    (tmp_path / "data").mkdir()
    R.write(tmp_path / "data" / "a.png", R.png_bytes())
    R.write(tmp_path / "b.png", R.png_bytes())
    zipped = R.zip_files(tmp_path / "imgs.zip", {"top/c.png": R.png_bytes(), "x/d.png": b"1", "y/d.png": b"2"})
    res = ImageResolver([tmp_path / "data", tmp_path], [zipped])
    assert res.find("./a.png")["path"] == str(tmp_path / "data" / "a.png")
    assert res.find("b.png")["path"] == str(tmp_path / "b.png")
    assert res.find("c.png")["bytes"] == R.png_bytes()  # a unique path suffix inside the archive
    assert res.find("nope.png") is None
    with pytest.raises(ValueError, match="ambiguous in imgs.zip"):
        res.find("d.png")
    with pytest.raises(ValueError, match="unreadable"):
        load_image({"bytes": b"not an image", "path": None}, res)
    # a base64 cell of a few hundred characters is no file name (too long for the OS): decoded, not looked up
    from PIL import Image

    buf = R.io.BytesIO()
    Image.frombytes("RGB", (12, 12), random.Random(0).randbytes(432)).save(buf, "PNG")
    cell = R.b64(buf.getvalue())
    assert 300 < len(cell) < 1024 and load_image(cell, res)["bytes"] == buf.getvalue()


def test_tsv_list_literals_and_option_columns():
    from mmreason.eval.benchmarks.release import BadRow, literal_list, option_columns

    assert literal_list("['a', 'b']", "choices") == ["a", "b"] and literal_list("None", "choices") == []
    assert option_columns({"A": "x", "B": "y", "C": "", "D": None}) == ["x", "y"]
    with pytest.raises(BadRow, match="skip a letter"):
        option_columns({"A": "x", "C": "z"})


# ------------------------------------------------------------------------------------------- eval.check
@pytest.mark.parametrize("bench,layout", sorted(R.BUILDERS))
def test_check_runs_on_every_fixture_layout(tmp_path, capsys, bench, layout):
    path = R.BUILDERS[(bench, layout)](tmp_path)
    assert check_main([f"eval.data.{bench}={path}"]) == 0
    out = capsys.readouterr().out
    assert f"== {bench}: {path}" in out and f"layout: {layout} (" in out
    assert "skipped: 0 (0.0%)" in out and "sample prompt (" in out and out.rstrip().endswith("OK")


def test_check_reports_skipped_rows_and_fails(tmp_path, capsys):
    root = R.mathvision_github(tmp_path)
    (root / "images" / "7.jpg").unlink()
    assert check_main([f"eval.data.mathvision={root}"]) == 1
    out = capsys.readouterr().out
    assert "rows: 4  loaded: 3  skipped: 1 (25.0%)" in out
    assert "  skipped row 7: image 'images/7.jpg' not found" in out and "FAIL: mathvision:" in out
    # a per-benchmark limit from eval.benchmark_args makes it usable
    assert check_main([f"eval.data.mathvision={root}", "+eval.benchmark_args.mathvision.max_skipped_fraction=0.3"]) == 0
    assert check_main([f"eval.data.mmk12={tmp_path / 'none'}"]) == 1
    assert "MISSING: mmk12: no data at" in capsys.readouterr().out


def test_python_m_eval_check(tmp_path):
    root = R.mmstar_hf(tmp_path)
    out = subprocess.run([sys.executable, "-m", "mmreason.eval.check", f"eval.data.mmstar={root}"], capture_output=True,
                         text=True, timeout=120, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "layout: hf (HF Lin-Chen/MMStar mmstar.parquet)" in out.stdout and "Question: Which animal" in out.stdout
