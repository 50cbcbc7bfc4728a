"""Installation and the Debian package (issue 6, item 8).

- `cmake --install BUILD --prefix P` lays out P/bin/sfcrime, P/share/man/man1/ with every page of
  man/, and the bash, zsh and fish completions where those shells look for them on Debian; the
  installed binary runs, and `man` finds the installed pages through MANPATH;
- CPack (the DEB generator of CMakeLists.txt) makes sfcrime_<version>_<arch>.deb: its control
  fields (Package, Version, Section, Maintainer, Depends from dpkg-shlibdeps naming the libraries
  of the statically linked librdkafka, Boost and simdjson, and not librdkafka), its files (stripped binary, gzip'ed man pages, completions);
- the package unpacks into a scratch root (dpkg-deb -x) and installs there with dpkg
  (--root, --force-not-root: no root needed, nothing touches this machine's dpkg database); the
  binary from it runs `--version`; every dependency in Depends is installed on this machine at a
  version that satisfies it, so `apt install ./sfcrime_*.deb` would succeed here.

The build tree is the parent of $SFCRIME_BIN when it holds CMakeCache.txt, else build/ (CI runs
scripts/build first). The package is written to a scratch directory, never into the build tree.
"""
import gzip
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from conftest import BIN, ROOT, clean_env

MAN = ROOT / "man"
COMPLETIONS = {  # source -> where it is installed under the prefix
    "completions/sfcrime.bash": "share/bash-completion/completions/sfcrime",
    "completions/_sfcrime": "share/zsh/vendor-completions/_sfcrime",
    "completions/sfcrime.fish": "share/fish/vendor_completions.d/sfcrime.fish",
}


def _build_dir():
    if (BIN.parent / "CMakeCache.txt").is_file():
        return BIN.parent
    return ROOT / "build"


def _cache_value(build, key):
    m = re.search(rf"^{re.escape(key)}:[A-Z]+=(.*)$", (build / "CMakeCache.txt").read_text(), re.M)
    return m.group(1) if m else None


def _env():
    e = clean_env()
    e.update({"LC_ALL": "C.UTF-8", "MANPAGER": "cat", "PAGER": "cat"})
    return e


def _run(*cmd, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=kw.pop("timeout", 120),
                       env=kw.pop("env", _env()), **kw)
    assert p.returncode == 0, f"{' '.join(map(str, cmd))} exited {p.returncode}:\n{p.stdout}\n{p.stderr}"
    return p


@pytest.fixture(scope="module")
def build(sfcrime_bin):
    b = _build_dir()
    assert (b / "CMakeCache.txt").is_file(), f"no CMake build tree at {b}: run scripts/build first"
    assert (b / "sfcrime").is_file(), f"{b}/sfcrime is missing: run scripts/build first"
    return b


@pytest.fixture(scope="module")
def version(build):
    v = _cache_value(build, "CMAKE_PROJECT_VERSION") or _cache_value(build, "sfcrime_VERSION")
    assert v and re.fullmatch(r"\d+\.\d+\.\d+", v), f"no project version in {build}/CMakeCache.txt: {v}"
    return v


@pytest.fixture(scope="module")
def prefix(build, tmp_path_factory):
    p = tmp_path_factory.mktemp("prefix")
    _run("cmake", "--install", build, "--prefix", p)
    return p


def test_install_lays_out_bin_man_and_completions(prefix):
    assert os.access(prefix / "bin" / "sfcrime", os.X_OK)
    pages = sorted(p.name for p in MAN.glob("*.1"))
    assert "sfcrime.1" in pages and len(pages) >= 6
    installed = sorted(p.name for p in (prefix / "share" / "man" / "man1").iterdir())
    assert installed == pages, f"installed man pages {installed}, expected one per page of man/: {pages}"
    for page in pages:
        assert (prefix / "share/man/man1" / page).read_bytes() == (MAN / page).read_bytes()
    for src, dst in COMPLETIONS.items():
        assert (prefix / dst).is_file(), f"{dst} not installed"
        assert (prefix / dst).read_bytes() == (ROOT / src).read_bytes(), f"{dst} differs from {src}"


def test_installed_binary_runs(prefix, version):
    p = _run(prefix / "bin" / "sfcrime", "--version")
    assert p.stdout.startswith(f"sfcrime {version} "), p.stdout


@pytest.mark.parametrize("page", ["sfcrime", "sfcrime-produce", "sfcrime-aggregate"])
def test_man_finds_the_installed_pages(prefix, page):
    if shutil.which("man") is None:
        pytest.fail("man is not installed (scripts/install-deps installs man-db)")
    env = _env()
    env["MANPATH"] = str(prefix / "share" / "man")
    p = _run("man", "-w", page, env=env)
    assert p.stdout.strip() == str(prefix / "share/man/man1" / f"{page}.1"), p.stdout


def test_installed_completions_load(prefix):
    bash = prefix / COMPLETIONS["completions/sfcrime.bash"]
    p = _run("bash", "-c", f"source '{bash}' && complete -p sfcrime")
    assert "-F _sfcrime" in p.stdout and p.stderr == ""
    # bash-completion finds it by the command's name in share/bash-completion/completions.
    assert bash.name == "sfcrime"
    if shutil.which("zsh"):
        _run("zsh", "-n", prefix / COMPLETIONS["completions/_sfcrime"])
    if shutil.which("fish"):
        _run("fish", "--no-execute", prefix / COMPLETIONS["completions/sfcrime.fish"])


# --- the Debian package ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def deb(build, version, tmp_path_factory):
    for tool in ("cpack", "dpkg-deb", "dpkg-shlibdeps"):
        assert shutil.which(tool), f"{tool} is missing (scripts/install-deps installs cmake and dpkg-dev)"
    out = tmp_path_factory.mktemp("package")
    _run("cpack", "--config", build / "CPackConfig.cmake", "-G", "DEB", "-B", out, cwd=build, timeout=300)
    arch = _run("dpkg", "--print-architecture").stdout.strip()
    path = out / f"sfcrime_{version}_{arch}.deb"
    assert path.is_file(), f"no {path.name} in {sorted(p.name for p in out.iterdir())}"
    return path


def _fields(deb):
    text = _run("dpkg-deb", "-f", deb).stdout
    fields, key = {}, None
    for line in text.splitlines():
        if line.startswith(" ") and key:
            fields[key] += "\n" + line
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def test_deb_control_fields(deb, version):
    f = _fields(deb)
    assert f["Package"] == "sfcrime"
    assert f["Version"] == version
    assert f["Section"] == "utils"
    assert f["Architecture"] == _run("dpkg", "--print-architecture").stdout.strip()
    assert re.search(r"<[^>]+@[^>]+>", f["Maintainer"]), f["Maintainer"]
    assert f["Description"].strip()
    depends = f["Depends"]
    # librdkafka is linked statically (scripts/build-librdkafka): its own libraries are needed.
    for lib in ("libssl3", "libsasl2-2", "libzstd1", "liblz4-1", "zlib1g", "libboost-program-options1.81.0",
                "libboost-json1.81.0", "libsimdjson", "libc6"):
        assert lib in depends, f"Depends lacks {lib}: {depends}"
    assert "librdkafka" not in depends, f"librdkafka is linked statically, yet Depends names it: {depends}"


def test_deb_contents(deb):
    listing = _run("dpkg-deb", "-c", deb).stdout
    files = {line.split()[-1].lstrip(".") for line in listing.splitlines() if not line.startswith("d")}
    expected = {"/usr/bin/sfcrime"} | {f"/usr/{dst}" for dst in COMPLETIONS.values()}
    expected |= {f"/usr/share/man/man1/{p.name}.gz" for p in MAN.glob("*.1")}
    assert expected <= files, f"missing from the package: {sorted(expected - files)}"
    # Debian policy 12.1: man pages compressed with gzip -9n; nothing else than the above.
    assert not [f for f in files if f.endswith(".1")], f"uncompressed man pages: {sorted(files)}"
    assert files == expected, f"unexpected files in the package: {sorted(files - expected)}"


@pytest.fixture(scope="module")
def unpacked(deb, tmp_path_factory):
    root = tmp_path_factory.mktemp("root")
    _run("dpkg-deb", "-x", deb, root)
    return root


def test_unpacked_package_runs(unpacked, version):
    binary = unpacked / "usr" / "bin" / "sfcrime"
    p = _run(binary, "--version")
    assert p.stdout.startswith(f"sfcrime {version} (librdkafka "), p.stdout
    if shutil.which("file"):
        assert "not stripped" not in _run("file", binary).stdout, "the packaged binary is not stripped"


def test_unpacked_man_pages_are_gzipped_pages(unpacked):
    for page in MAN.glob("*.1"):
        gz = unpacked / "usr/share/man/man1" / f"{page.name}.gz"
        data = gz.read_bytes()
        assert data[3] & 0x08 == 0, f"{gz.name} stores the file name (gzip -n wanted)"
        assert gzip.decompress(data) == page.read_bytes()
    env = _env()
    env["MANPATH"] = str(unpacked / "usr/share/man")
    assert _run("man", "-w", "sfcrime-produce", env=env).stdout.strip().endswith("sfcrime-produce.1.gz")


def test_dpkg_installs_the_package_into_a_scratch_root(deb, tmp_path, version):
    # A real `dpkg -i` into an empty root with its own database: no root needed (--force-not-root),
    # the dependencies are checked by test_dependencies_are_installed_here instead (the scratch
    # database knows no packages, hence --force-depends).
    admin = tmp_path / "var" / "lib" / "dpkg"
    (admin / "info").mkdir(parents=True)
    (admin / "updates").mkdir()
    (admin / "status").touch()
    _run("dpkg", "--force-not-root", f"--root={tmp_path}", f"--admindir={admin}", "--log=/dev/null",
         "--force-depends", "--no-triggers", "-i", deb)
    status = _run("dpkg-query", f"--admindir={admin}", "-W", "-f", "${Status} ${Version}", "sfcrime").stdout
    assert status == f"install ok installed {version}", status
    listed = _run("dpkg-query", f"--admindir={admin}", "-L", "sfcrime").stdout.split()
    assert "/usr/bin/sfcrime" in listed
    _run(tmp_path / "usr" / "bin" / "sfcrime", "--version")


def test_dependencies_are_installed_here(deb):
    # What `apt install ./sfcrime_*.deb` needs: each Depends entry (or one of its alternatives)
    # installed at a version satisfying its relation.
    unmet = []
    for entry in _fields(deb)["Depends"].split(","):
        ok = False
        for alt in entry.split("|"):
            m = re.fullmatch(r"\s*([a-z0-9.+-]+)(?::\w+)?\s*(?:\((<<|<=|=|>=|>>)\s*([^)]+)\))?\s*", alt)
            assert m, f"cannot read Depends entry {alt!r}"
            name, rel, ver = m.groups()
            q = subprocess.run(["dpkg-query", "-W", "-f", "${Status}\t${Version}\n", name], capture_output=True,
                               text=True, env=_env())
            for line in q.stdout.splitlines():
                st, _, installed = line.partition("\t")
                if st != "install ok installed":
                    continue
                if rel is None or subprocess.run(["dpkg", "--compare-versions", installed,
                                                  {"<<": "lt", "<=": "le", "=": "eq", ">=": "ge", ">>": "gt"}[rel],
                                                  ver.strip()]).returncode == 0:
                    ok = True
        if not ok:
            unmet.append(entry.strip())
    assert not unmet, f"dependencies not installed on this machine: {unmet}"
