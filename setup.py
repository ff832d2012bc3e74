"""Build steps pyproject.toml cannot say: the C accelerator and the bundled sample data.

* ``lsq_analysis._fastjson`` (``lsq_analysis/frames/_fastjson.c`` + the vendored yyjson parser in
  ``third_party/yyjson``) turns activity JSON into Arrow column buffers for
  ``activities_frame``. It is optional: where it cannot be compiled, the package installs
  without it and ``activities_frame`` reads JSON with pyarrow (same results, slower).
* ``data/samples`` goes into the wheel as ``lsq_analysis/_samples`` (``load_sample`` looks
  there when the package is not run from a source tree).
"""

from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py


class BuildWithSamples(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install finds data/samples in the source tree
            return
        source = Path(__file__).parent / "data" / "samples"
        target = Path(self.build_lib) / "lsq_analysis" / "_samples"
        self.mkpath(str(target))
        for path in sorted(p for p in source.glob("*") if p.is_file()):
            self.copy_file(str(path), str(target / path.name), preserve_mode=False)


setup(
    ext_modules=[
        Extension(
            "lsq_analysis.frames._fastjson",
            sources=["lsq_analysis/frames/_fastjson.c", "third_party/yyjson/yyjson.c"],
            include_dirs=["third_party/yyjson"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ],
    cmdclass={"build_py": BuildWithSamples},
)
