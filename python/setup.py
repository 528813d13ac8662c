"""Builds ipcx._ipcx with the project's own CMake (the library and the extension module), for
`pip install --no-build-isolation ./python`. The metadata is in pyproject.toml."""

import os
import pathlib
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent.parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = pathlib.Path(self.build_temp).resolve() / "cmake"
        build.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
             "-DIPCX_BUILD_TESTS=OFF", "-DIPCX_BUILD_TOOLS=OFF", "-DIPCX_BUILD_BENCH=OFF",
             "-DIPCX_BUILD_EXAMPLES=OFF", "-DIPCX_PYTHON=ON",
             f"-DPython_EXECUTABLE={sys.executable}"],
            check=True)
        jobs = str(os.cpu_count() or 1)
        subprocess.run(["cmake", "--build", str(build), "--target", "ipcx_python", "-j", jobs],
                       check=True)
        built = next((build / "python" / "ipcx").glob("_ipcx*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(built), str(target))


setup(ext_modules=[Extension("ipcx._ipcx", sources=[])], cmdclass={"build_ext": CMakeBuild})
