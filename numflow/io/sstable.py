"""The immutable sorted table (LevelDB "SSTable") that TF uses for checkpoint ``.index`` files.

Layout: data blocks, an (empty) metaindex block, an index block and a 48-byte footer.
A block holds entries ``varint shared | varint non_shared | varint value_len | key
suffix | value`` (keys prefix-compressed against the previous key, restarted every
``restart_interval`` entries), then the restart offsets (fixed32 each) and their
count. Every block is followed by a 5-byte trailer: the compression type (0, none)
and the masked CRC-32C of the block plus that type byte. The index block maps a
separator key (>= the block's last key, < the next block's first key) to the
block's handle ``varint offset | varint size``. The footer holds the metaindex and
index handles, zero padding to 40 bytes and the magic number.

The writer reproduces TF's ``table::TableBuilder`` byte for byte (block size 256 KiB,
restart interval 16, no compression). The reader checks every checksum, and also
that the blocks tile the file exactly, so any flipped or missing byte is reported.
"""
import struct

from numflow.framework import errors
from numflow.io import proto
from numflow.io.crc32c import crc32c, mask_crc32c

MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5
BLOCK_SIZE = 262144
RESTART_INTERVAL = 16
_NO_COMPRESSION = 0


class _BlockBuilder:
    def __init__(self, restart_interval):
        self.restart_interval = restart_interval
        self.buffer = bytearray()
        self.restarts = [0]
        self.counter = 0
        self.last_key = b""
        self.empty = True

    def add(self, key, value):
        shared = 0
        if self.counter < self.restart_interval:
            limit = min(len(key), len(self.last_key))
            while shared < limit and key[shared] == self.last_key[shared]:
                shared += 1
        else:
            self.restarts.append(len(self.buffer))
            self.counter = 0
        self.buffer += proto.encode_varint(shared)
        self.buffer += proto.encode_varint(len(key) - shared)
        self.buffer += proto.encode_varint(len(value))
        self.buffer += key[shared:]
        self.buffer += value
        self.last_key = key
        self.counter += 1
        self.empty = False

    def estimated_size(self):
        return len(self.buffer) + 4 * len(self.restarts) + 4

    def finish(self):
        return bytes(self.buffer) + struct.pack(f"<{len(self.restarts) + 1}I",
                                                *self.restarts, len(self.restarts))


def _shortest_separator(start, limit):
    """A short key k with start <= k < limit (LevelDB's bytewise FindShortestSeparator)."""
    n = min(len(start), len(limit))
    i = 0
    while i < n and start[i] == limit[i]:
        i += 1
    if i < n and start[i] < 0xFF and start[i] + 1 < limit[i]:
        return start[:i] + bytes([start[i] + 1])
    return start


def _short_successor(key):
    """A short key >= ``key`` (LevelDB's bytewise FindShortSuccessor)."""
    for i, b in enumerate(key):
        if b != 0xFF:
            return key[:i] + bytes([b + 1])
    return key


def _handle(offset, size):
    return proto.encode_varint(offset) + proto.encode_varint(size)


def build_table(items):
    """Serializes ``items``, an iterable of ``(key bytes, value bytes)`` in strictly
    increasing key order, into the bytes of an SSTable file."""
    out = bytearray()

    def write_block(block):
        contents = block.finish()
        offset = len(out)
        trailer = bytes([_NO_COMPRESSION])
        out.extend(contents)
        out.extend(trailer + struct.pack("<I", mask_crc32c(crc32c(trailer, crc32c(contents)))))
        return _handle(offset, len(contents))

    data = _BlockBuilder(RESTART_INTERVAL)
    index = _BlockBuilder(1)
    pending, last_key = None, None
    for key, value in items:
        if last_key is not None and key <= last_key:
            raise ValueError(f"SSTable keys must be strictly increasing: {key!r} after "
                             f"{last_key!r}.")
        if pending is not None:
            index.add(_shortest_separator(last_key, key), pending)
            pending = None
        data.add(key, value)
        last_key = key
        if data.estimated_size() >= BLOCK_SIZE:
            pending = write_block(data)
            data = _BlockBuilder(RESTART_INTERVAL)
    if not data.empty:
        pending = write_block(data)
    metaindex_handle = write_block(_BlockBuilder(RESTART_INTERVAL))
    if pending is not None:
        index.add(_short_successor(last_key), pending)
    index_handle = write_block(index)
    footer = metaindex_handle + index_handle
    out.extend(footer + bytes(FOOTER_SIZE - 8 - len(footer)) + struct.pack("<Q", MAGIC))
    return bytes(out)


# ---- reading -------------------------------------------------------------------------

def _corrupt(filename, what):
    return errors.DataLossError(None, None, f"{filename}: corrupted checkpoint index: {what}")


def _read_handle(buf, pos, filename):
    try:
        offset, pos = proto.decode_varint(buf, pos)
        size, pos = proto.decode_varint(buf, pos)
    except proto.DecodeError as e:
        raise _corrupt(filename, f"bad block handle ({e})") from None
    return offset, size, pos


def _read_block(buf, offset, size, limit, filename):
    """Checks one block's trailer and returns its contents; it must end before ``limit``."""
    end = offset + size
    if end + BLOCK_TRAILER_SIZE > limit:
        raise _corrupt(filename, f"block at offset {offset} runs past its region")
    contents = buf[offset:end]
    kind = buf[end]
    stored = struct.unpack_from("<I", buf, end + 1)[0]
    if mask_crc32c(crc32c(buf[end:end + 1], crc32c(contents))) != stored:
        raise _corrupt(filename, f"block checksum mismatch at offset {offset}")
    if kind != _NO_COMPRESSION:
        raise _corrupt(filename, f"unsupported block compression type {kind}")
    return contents


def _block_entries(contents, filename):
    """Decodes the ``(key, value)`` entries of one block's contents."""
    if len(contents) < 4:
        raise _corrupt(filename, "block too short")
    num_restarts = struct.unpack_from("<I", contents, len(contents) - 4)[0]
    entries_end = len(contents) - 4 - 4 * num_restarts
    if num_restarts == 0 or entries_end < 0:
        raise _corrupt(filename, "bad restart count")
    entries, pos, key = [], 0, b""
    try:
        while pos < entries_end:
            shared, pos = proto.decode_varint(contents, pos)
            non_shared, pos = proto.decode_varint(contents, pos)
            value_len, pos = proto.decode_varint(contents, pos)
            if shared > len(key) or pos + non_shared + value_len > entries_end:
                raise proto.DecodeError("entry overruns the block")
            key = key[:shared] + contents[pos:pos + non_shared]
            pos += non_shared
            entries.append((key, contents[pos:pos + value_len]))
            pos += value_len
    except proto.DecodeError as e:
        raise _corrupt(filename, str(e)) from None
    return entries


def read_table(buf, filename):
    """Parses the SSTable bytes ``buf`` into a list of ``(key, value)`` in key order.

    Raises:
      DataLossError: naming ``filename`` for a short file, bad magic, a checksum
        mismatch, or any structural inconsistency.
    """
    buf = bytes(buf)
    if len(buf) < FOOTER_SIZE:
        raise _corrupt(filename, f"file is too short ({len(buf)} bytes) to be a table")
    footer_start = len(buf) - FOOTER_SIZE
    if struct.unpack_from("<Q", buf, len(buf) - 8)[0] != MAGIC:
        raise _corrupt(filename, "bad magic number (not an sstable, or truncated)")
    meta_off, meta_size, pos = _read_handle(buf, footer_start, filename)
    index_off, index_size, pos = _read_handle(buf, pos, filename)
    if pos > len(buf) - 8 or any(buf[pos:len(buf) - 8]) or \
            buf[footer_start:pos] != _handle(meta_off, meta_size) + _handle(index_off, index_size):
        raise _corrupt(filename, "bad footer")
    if index_off + index_size + BLOCK_TRAILER_SIZE != footer_start or \
            meta_off + meta_size + BLOCK_TRAILER_SIZE != index_off:
        raise _corrupt(filename, "block handles do not tile the file")
    _read_block(buf, meta_off, meta_size, index_off, filename)
    index = _block_entries(_read_block(buf, index_off, index_size, footer_start, filename),
                           filename)
    items, expected_offset = [], 0
    for _, handle in index:
        offset, size, used = _read_handle(handle, 0, filename)
        if used != len(handle) or offset != expected_offset:
            raise _corrupt(filename, "data block handles do not tile the file")
        items.extend(_block_entries(_read_block(buf, offset, size, meta_off, filename),
                                    filename))
        expected_offset = offset + size + BLOCK_TRAILER_SIZE
    if expected_offset != meta_off:
        raise _corrupt(filename, "data blocks do not reach the metaindex block")
    for (a, _), (b, _) in zip(items, items[1:]):
        if a >= b:
            raise _corrupt(filename, "keys out of order")
    return items
