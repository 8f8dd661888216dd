"""Map the package roots (packages/<stage>/mmreason/<stage>) onto one `mmreason` namespace.

Everything else lives in pyproject.toml; setuptools' `packages.find` cannot merge several roots.
"""

from pathlib import Path

from setuptools import find_namespace_packages, setup

ROOT = Path(__file__).parent
package_dir, packages = {}, []
for stage in ("core", "synth", "train", "eval", "pipeline"):
    base = f"packages/{stage}"
    for pkg in find_namespace_packages(where=str(ROOT / base), include=[f"mmreason.{stage}", f"mmreason.{stage}.*"]):
        packages.append(pkg)
        package_dir[pkg] = f"{base}/" + pkg.replace(".", "/")

setup(packages=packages, package_dir=package_dir)
