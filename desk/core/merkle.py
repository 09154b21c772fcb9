"""A Merkle tree hashed as RFC 9162 (Certificate Transparency 2.0) prescribes.

Pure functions, no storage: leaf and node hashes, the tree head of `size` leaves, inclusion and
consistency proofs, and their verification. A tree is read through `NodeReader`, a function
giving the hash of a *complete* subtree: `(level, index)` covers the leaves
`[index * 2**level, (index + 1) * 2**level)`. Those nodes never change once the tree has grown
past them, so a store can keep them forever; every other hash a proof needs is computed from
them (at most one per level).

The proof shapes do not depend on the hashes, so `nodes_needed` runs a computation with a
recording reader to learn which stored nodes it will read: a store fetches them in one query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]
NodeReader = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof that does not hold, or a request no tree can answer (index past the size...)."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_hash(start: int, end: int, read: NodeReader) -> bytes:
    """MTH(D[start:end]) for a range as the RFC's recursion produces them (`start` aligned)."""
    width = end - start
    if width <= 0:
        raise ProofError("empty range")
    if width & (width - 1) == 0 and start % width == 0:
        return read(width.bit_length() - 1, start // width)
    k = _split(width)
    return node_hash(subtree_hash(start, start + k, read), subtree_hash(start + k, end, read))


def root_hash(size: int, read: NodeReader) -> bytes:
    return EMPTY_ROOT if size == 0 else subtree_hash(0, size, read)


def inclusion_proof(index: int, size: int, read: NodeReader) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    return _path(index, 0, size, read)


def _path(m: int, start: int, end: int, read: NodeReader) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return _path(m, start, start + k, read) + [subtree_hash(start + k, end, read)]
    return _path(m - k, start + k, end, read) + [subtree_hash(start, start + k, read)]


def consistency_proof(old_size: int, new_size: int, read: NodeReader) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1."""
    if not 0 < old_size <= new_size:
        raise ProofError(f"no consistency proof from {old_size} to {new_size} leaves")
    return _subproof(old_size, 0, new_size, True, read)


def _subproof(m: int, start: int, end: int, whole: bool, read: NodeReader) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if whole else [subtree_hash(start, end, read)]
    k = _split(n)
    if m <= k:
        return _subproof(m, start, start + k, whole, read) + [subtree_hash(start + k, end, read)]
    return _subproof(m - k, start + k, end, False, read) + [subtree_hash(start, start + k, read)]


def nodes_needed(compute: Callable[[NodeReader], object]) -> list[NodeId]:
    """The stored nodes `compute` reads, in order of first use (hash values play no part)."""
    seen: dict[NodeId, None] = {}

    def record(level: int, index: int) -> bytes:
        seen[(level, index)] = None
        return bytes(HASH_SIZE)

    compute(record)
    return list(seen)


def reader(nodes: dict[NodeId, bytes]) -> NodeReader:
    def read(level: int, index: int) -> bytes:
        try:
            return nodes[(level, index)]
        except KeyError:
            raise ProofError(f"node ({level}, {index}) is missing from the store") from None

    return read


def verify_inclusion(
    *, leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` put the leaf hash `leaf` at `index` under `root`?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    *, old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of `new_root` an append-only extension of `old_root`'s?"""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class CompactRange:
    """The right edge of a growing tree: one complete subtree hash per set bit of its size.

    Appending a leaf yields the complete subtrees it closes, so a store can keep every complete
    node; the root of the current size folds the edge from right to left.
    """

    def __init__(self, size: int = 0, edge: Sequence[bytes] = ()) -> None:
        if len(edge) != bin(size).count("1"):
            raise ProofError("the edge does not match the size")
        self.size = size
        self.edge = list(edge)

    @staticmethod
    def edge_ids(size: int) -> list[NodeId]:
        """The complete subtrees, largest first, that a tree of `size` leaves ends with."""
        ids, start = [], 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                ids.append((level, start >> level))
                start += 1 << level
        return ids

    def append(self, leaf: bytes) -> list[tuple[NodeId, bytes]]:
        """Add one leaf hash; returns the complete nodes it closes, the leaf itself first."""
        index = self.size
        closed: list[tuple[NodeId, bytes]] = [((0, index), leaf)]
        current, level = leaf, 0
        while index >> level & 1:
            current = node_hash(self.edge.pop(), current)
            level += 1
            closed.append(((level, index >> level), current))
        self.edge.append(current)
        self.size += 1
        return closed

    def root(self) -> bytes:
        if not self.edge:
            return EMPTY_ROOT
        result = self.edge[-1]
        for left in reversed(self.edge[:-1]):
            result = node_hash(left, result)
        return result
