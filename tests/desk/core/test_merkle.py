"""RFC 9162 tree hashing against the published test vectors of the CT reference code
(the eight-leaf tree of transparency-dev/merkle's testonly package and its proof probes)."""

from __future__ import annotations

import hashlib
import random

import pytest

from desk.core import merkle

LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f")
]  # fmt: skip
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, audit path)
INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
# (old size, new size, proof)
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip


def build(leaves: list[bytes]) -> tuple[dict[merkle.NodeId, bytes], list[bytes]]:
    """Every complete node of the tree, as a store would keep them, and the root per size."""
    tree = merkle.CompactRange()
    nodes: dict[merkle.NodeId, bytes] = {}
    roots = [tree.root()]
    for data in leaves:
        nodes.update(tree.append(merkle.leaf_hash(data)))
        roots.append(tree.root())
    return nodes, roots


NODES, COMPACT_ROOTS = build(LEAVES)
READ = merkle.reader(NODES)


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert merkle.leaf_hash(b"").hex() == ROOTS[1]
    assert merkle.EMPTY_ROOT.hex() == ROOTS[0]
    assert merkle.node_hash(b"a" * 32, b"b" * 32) != hashlib.sha256(b"a" * 32 + b"b" * 32).digest()


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_reference_vectors(size: int) -> None:
    assert COMPACT_ROOTS[size].hex() == ROOTS[size]
    assert merkle.root_hash(size, READ).hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_and_verify(index: int, size: int, path: list[str]) -> None:
    proof = merkle.inclusion_proof(index, size, READ)
    assert [p.hex() for p in proof] == path
    leaf = merkle.leaf_hash(LEAVES[index])
    root = bytes.fromhex(ROOTS[size])
    assert merkle.verify_inclusion(leaf=leaf, index=index, size=size, proof=proof, root=root)
    # Another position, leaf, root or path is refused.
    assert not merkle.verify_inclusion(
        leaf=leaf, index=index + 1, size=size, proof=proof, root=root
    )
    assert not merkle.verify_inclusion(
        leaf=leaf, index=index, size=size, proof=proof, root=merkle.EMPTY_ROOT
    )
    assert not merkle.verify_inclusion(
        leaf=merkle.leaf_hash(b"forged"), index=index, size=size, proof=proof, root=root
    )
    if proof:
        flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
        assert not merkle.verify_inclusion(
            leaf=leaf, index=index, size=size, proof=flipped, root=root
        )
        assert not merkle.verify_inclusion(
            leaf=leaf, index=index, size=size, proof=proof[:-1], root=root
        )


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_consistency_proofs_match_and_verify(old: int, new: int, path: list[str]) -> None:
    proof = merkle.consistency_proof(old, new, READ)
    assert [p.hex() for p in proof] == path
    old_root, new_root = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    assert merkle.verify_consistency(
        old_size=old, new_size=new, proof=proof, old_root=old_root, new_root=new_root
    )
    if old != new:
        # Swapped roots, an empty proof, a truncated proof: refused.
        assert not merkle.verify_consistency(
            old_size=old, new_size=new, proof=proof, old_root=new_root, new_root=old_root
        )
        assert not merkle.verify_consistency(
            old_size=old, new_size=new, proof=[], old_root=old_root, new_root=new_root
        )
        assert not merkle.verify_consistency(
            old_size=old, new_size=new, proof=proof[:-1], old_root=old_root, new_root=new_root
        )


def test_every_proof_of_a_larger_tree_verifies_and_reads_only_stored_nodes() -> None:
    rng = random.Random(9162)
    leaves = [rng.randbytes(rng.randrange(0, 40)) for _ in range(70)]
    nodes, roots = build(leaves)
    read = merkle.reader(nodes)
    for size in range(1, 71):
        assert merkle.root_hash(size, read) == roots[size]
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, read)
            assert merkle.verify_inclusion(
                leaf=merkle.leaf_hash(leaves[index]), index=index, size=size, proof=proof,
                root=roots[size],
            )  # fmt: skip
        for old in range(1, size + 1):
            proof = merkle.consistency_proof(old, size, read)
            assert merkle.verify_consistency(
                old_size=old, new_size=size, proof=proof, old_root=roots[old],
                new_root=roots[size],
            )  # fmt: skip
    needed = merkle.nodes_needed(lambda r: merkle.inclusion_proof(37, 70, r))
    assert set(needed) <= set(nodes)
    assert len(needed) <= 2 * 7


def test_a_compact_range_resumes_from_its_stored_edge() -> None:
    tree = merkle.CompactRange(6, [NODES[i] for i in merkle.CompactRange.edge_ids(6)])
    tree.append(merkle.leaf_hash(LEAVES[6]))
    assert tree.root().hex() == ROOTS[7]
    with pytest.raises(merkle.ProofError):
        merkle.CompactRange(3, [NODES[(0, 0)]])


def test_impossible_requests_raise_a_proof_error() -> None:
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_proof(8, 8, READ)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(0, 8, READ)
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_proof(0, 9, READ)  # node (0, 8) was never stored
