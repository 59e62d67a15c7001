"""An ObjectRef names its owner: the raylet of the node where the object was
put or its task submitted. The address travels with the ref wherever it is
pickled (task arguments, refs nested in stored objects)."""

from __future__ import annotations

import pickle

import pytest

import flare
from flare._private import state
from flare._private.protocol import OwnerAddress
from flare.object_ref import ObjectRef


def this_node() -> bytes:
    return bytes.fromhex(flare.get_runtime_context().get_node_id())


@flare.remote
def one():
    return 1


@flare.remote
def owners_of(refs):
    return [ref.owner_address() for ref in refs]


@flare.remote
def nested_put_owner():
    return flare.put("made in a worker").owner_address()


def test_put_and_task_refs_are_owned_by_this_node(flare_2cpu):
    for ref in (flare.put("value"), one.remote()):
        owner = ref.owner_address()
        assert isinstance(owner, OwnerAddress)
        assert owner.node_id == this_node(), f"{ref} should be owned by this node, not {owner}"
        assert owner.address == "", "a single-node runtime has no cluster address yet"


def test_owner_address_is_read_only(flare_2cpu):
    owner = flare.put(1).owner_address()
    with pytest.raises(AttributeError):
        owner.node_id = b"elsewhere"


def test_owner_address_survives_pickling(flare_2cpu):
    ref = flare.put("value")
    copy = pickle.loads(pickle.dumps(ref))
    assert copy == ref
    assert copy.owner_address() == ref.owner_address()


def test_refs_in_task_arguments_keep_their_owner(flare_2cpu):
    ref = flare.put("value")
    assert flare.get(owners_of.remote([ref])) == [ref.owner_address()]


def test_refs_nested_in_stored_objects_keep_their_owner(flare_2cpu):
    ref = one.remote()
    inner = flare.get(flare.put([ref]))[0]
    assert inner == ref
    assert inner.owner_address() == ref.owner_address()


def test_a_worker_owns_its_puts_through_its_node(flare_2cpu):
    assert flare.get(nested_put_owner.remote()).node_id == this_node()


def test_a_ref_owned_by_another_node_keeps_that_owner_and_is_released(flare_2cpu):
    core = state.current().core
    elsewhere = OwnerAddress(b"\x07" * 16, "10.0.0.2:6379")
    before = core.num_local_refs()
    # An id this node never made: the raylet ignores references to it.
    ref = ObjectRef(core.new_put_id(), _owner=elsewhere)
    copy = pickle.loads(pickle.dumps(ref))
    assert copy.owner_address() == elsewhere
    assert core.num_local_refs() == before + 1, "both refs count as one referenced object"
    del ref, copy
    assert core.num_local_refs() == before, "dropping the refs releases the object"
