"""The DAG API: graphs of tasks and actor calls built with .bind(), run with execute()."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

import flare
from flare.dag import ClassMethodNode, ClassNode, FunctionNode, InputNode, MultiOutputNode
from flare.exceptions import TaskError

pytestmark = pytest.mark.timeout(120)
TIMEOUT = 60


@pytest.fixture(scope="module", autouse=True)
def runtime():
    flare.init(num_cpus=2, object_store_memory=128 * 2**20, namespace="test-dag")
    yield
    flare.shutdown()


def get(refs):
    return flare.get(refs, timeout=TIMEOUT)


@flare.remote
def add(a, b=0):
    return a + b


@flare.remote
def double(x):
    return 2 * x


@flare.remote
def token(_=None):
    return uuid.uuid4().hex


@flare.remote
def pair(a, b):
    return (a, b)


@flare.remote
def describe(value):
    """What arrived: nested refs stay refs, as with .remote()."""
    return get_nested(value)


def get_nested(value):
    if isinstance(value, flare.ObjectRef):
        return ("ref", flare.get(value, timeout=TIMEOUT))
    if isinstance(value, list):
        return [get_nested(item) for item in value]
    if isinstance(value, dict):
        return {key: get_nested(item) for key, item in value.items()}
    return value


@flare.remote
def fail(_):
    raise ValueError("boom in the graph")


@flare.remote
def two_values(x):
    return x, x + 1


@flare.remote
class Counter:
    def __init__(self, start=0):
        self.value = start

    def incr(self, by=1):
        self.value += by
        return self.value

    def get(self):
        return self.value

    @flare.method(num_returns=2)
    def split(self):
        return self.value, -self.value


@flare.remote
def read_counter(counter):
    return flare.get(counter.get.remote(), timeout=TIMEOUT)


# ---- functions ---------------------------------------------------------------

def test_function_chain_passes_each_result_to_the_next():
    dag = add.bind(double.bind(double.bind(3)), 1)
    assert isinstance(dag, FunctionNode)
    ref = dag.execute()
    assert isinstance(ref, flare.ObjectRef)
    assert get(ref) == 13


def test_keyword_arguments_may_be_nodes():
    assert get(add.bind(1, b=double.bind(5)).execute()) == 11


def test_diamond_runs_the_shared_node_once():
    shared = token.bind()
    dag = pair.bind(add.bind(shared, ""), add.bind(shared, ""))
    left, right = get(dag.execute())
    assert left == right, "both branches must see the one run of the shared node"


def test_each_execute_runs_the_graph_again():
    dag = token.bind()
    assert get(dag.execute()) != get(dag.execute())


def test_nodes_nested_in_lists_and_dicts_arrive_as_refs():
    dag = describe.bind([double.bind(1), 5])
    assert get(dag.execute()) == [("ref", 2), 5]
    dag = describe.bind({"k": [double.bind(2)], "plain": 1})
    assert get(dag.execute()) == {"k": [("ref", 4)], "plain": 1}


def test_long_chain_runs_without_hitting_the_recursion_limit():
    dag = add.bind(0, 1)
    for _ in range(1100):
        dag = add.bind(dag, 1)
    assert get(dag.execute()) == 1101


def test_function_options_before_bind_apply():
    dag = two_values.options(num_returns=2).bind(7)
    refs = dag.execute()
    assert isinstance(refs, list) and len(refs) == 2
    assert get(refs) == [7, 8]
    assert dag.get_options()["num_returns"] == 2


def test_task_error_in_the_graph_is_raised_at_get():
    dag = double.bind(fail.bind(1))
    with pytest.raises(TaskError, match="boom in the graph"):
        get(dag.execute())


# ---- InputNode -----------------------------------------------------------------

def test_input_node_is_the_single_positional_input():
    with InputNode() as inp:
        dag = add.bind(double.bind(inp), 1)
    assert get(dag.execute(4)) == 9
    assert get(dag.execute(10)) == 21


def test_input_index_and_attribute_pick_positional_and_keyword_inputs():
    with InputNode() as inp:
        dag = MultiOutputNode([add.bind(inp[0], inp[1]), double.bind(inp.x), add.bind(inp["x"])])
    assert get(dag.execute(1, 2, x=3)) == [3, 6, 3]
    with InputNode() as inp:
        dag = double.bind(inp.x)
    assert get(dag.execute(x=5)) == 10


def test_input_attribute_reads_into_a_single_input_object_as_in_ray():
    with InputNode() as inp:
        dag = MultiOutputNode([add.bind(inp[0], inp[1]), double.bind(inp.value)])
    with pytest.raises(ValueError):
        dag.execute([2, 3])  # a list has no .value
    with InputNode() as inp:
        by_index = add.bind(inp[0], inp[1])
        by_key = double.bind(inp["a"])
        by_attribute = double.bind(inp.value)
    assert get(by_index.execute([2, 3])) == 5
    assert get(by_key.execute({"a": 4})) == 8
    assert get(by_attribute.execute(SimpleNamespace(value=6))) == 12


def test_input_object_ref_arrives_as_its_value():
    with InputNode() as inp:
        dag = double.bind(inp)
    assert get(dag.execute(flare.put(21))) == 42


def test_missing_inputs_raise_value_error_naming_what_was_given():
    with InputNode() as inp:
        dag = add.bind(inp[0], inp[1])
    with pytest.raises(ValueError, match=r"inp\[0\].*a single input of type int"):
        dag.execute(1)  # one input: inp[0] indexes into it, as in Ray
    with pytest.raises(ValueError, match=r"inp\[1\].*1 positional and 1 keyword"):
        dag.execute(1, x=2)
    with InputNode() as inp:
        dag = double.bind(inp.x)
    with pytest.raises(ValueError, match=r"inp\.x.*0 positional and 0 keyword"):
        dag.execute()


def test_plain_input_node_needs_exactly_one_positional_input():
    with InputNode() as inp:
        dag = double.bind(inp)
    for args, kwargs in (((), {}), ((1, 2), {}), ((1,), {"x": 2})):
        with pytest.raises(ValueError, match="single positional input"):
            dag.execute(*args, **kwargs)


def test_two_input_nodes_in_one_graph_raise_value_error():
    with InputNode() as first, InputNode() as second:
        dag = add.bind(first, second)
    with pytest.raises(ValueError, match="only one InputNode"):
        dag.execute(1)


# ---- MultiOutputNode -------------------------------------------------------------

def test_multi_output_node_returns_one_ref_per_output_in_order():
    with InputNode() as inp:
        shared = double.bind(inp)
        dag = MultiOutputNode([add.bind(shared, 1), shared, add.bind(shared, 2)])
    refs = dag.execute(5)
    assert isinstance(refs, list) and all(isinstance(r, flare.ObjectRef) for r in refs)
    assert get(refs) == [11, 10, 12]


def test_multi_output_node_rejects_what_is_not_a_node():
    with pytest.raises(TypeError, match="output 1 is a int"):
        MultiOutputNode([double.bind(1), 2])
    with pytest.raises(TypeError, match="list of DAG nodes"):
        MultiOutputNode(double.bind(1))


# ---- actors --------------------------------------------------------------------

def test_method_nodes_of_one_class_node_share_one_actor_per_execute():
    counter = Counter.bind(10)
    dag = MultiOutputNode([counter.incr.bind(1), counter.incr.bind(2)])
    assert isinstance(counter, ClassNode) and isinstance(dag.get_args()[0], ClassMethodNode)
    assert get(dag.execute()) == [11, 13]
    # A new execute creates a new actor, as Ray does: the state starts over.
    assert get(dag.execute()) == [11, 13]


def test_calls_bound_earlier_run_first_even_when_not_outputs():
    counter = Counter.bind(0)
    counter.incr.bind(5)
    counter.incr.bind(100)
    assert get(counter.get.bind().execute()) == 105


def test_method_arguments_may_come_from_inputs_and_tasks():
    with InputNode() as inp:
        counter = Counter.bind(1)
        dag = counter.incr.bind(double.bind(inp))
    assert get(dag.execute(3)) == 7


def test_executing_a_class_node_returns_a_live_actor_handle():
    handle = Counter.bind(3).execute()
    assert isinstance(handle, flare.ActorHandle)
    assert get(handle.incr.remote()) == 4


def test_class_node_passed_to_a_task_arrives_as_the_actor_handle():
    counter = Counter.bind(8)
    counter.incr.bind(1)
    # The task needs only the actor; the incr call bound on it is not part
    # of this graph (calls are chained forward, not backward), so it never runs.
    assert get(read_counter.bind(counter).execute()) == 8


def test_bind_on_a_live_actor_handle_calls_that_actor():
    handle = Counter.remote(0)
    with InputNode() as inp:
        dag = handle.incr.bind(inp)
    assert get(dag.execute(2)) == 2
    assert get(dag.execute(3)) == 5, "the same actor serves every execute"


def test_actor_options_before_bind_apply():
    named = Counter.options(name="dag-counter").bind(4)
    assert named.get_options()["name"] == "dag-counter"
    handle, ref = MultiOutputNode([named, named.incr.bind(1)]).execute()
    assert get(ref) == 5
    assert flare.get_actor("dag-counter") == handle


def test_method_options_before_bind_apply():
    counter = Counter.bind(6)
    refs = counter.split.bind().execute()
    assert get(refs) == [6, -6]
    ref = counter.split.options(num_returns=1).bind().execute()
    assert get(ref) == (6, -6)
    handle = Counter.remote(2)
    assert get(handle.split.options(num_returns=1).bind().execute()) == (2, -2)


# ---- bad use -------------------------------------------------------------------

def test_bind_with_arguments_the_signature_rejects_raises_type_error():
    with pytest.raises(TypeError, match=r"double\.bind\(\)"):
        double.bind(1, 2)
    with pytest.raises(TypeError, match=r"Counter\.bind\(\)"):
        Counter.bind(1, 2, 3)


def test_remote_and_bind_on_nodes_raise_attribute_error_naming_the_fix():
    node = double.bind(1)
    with pytest.raises(AttributeError, match=r"\.execute\(\)"):
        node.remote()
    with pytest.raises(AttributeError, match=r"\.bind\(\) cannot be used again"):
        node.bind()
    with pytest.raises(AttributeError, match=r"\.bind\(\)"):
        Counter.bind().incr.remote()


def test_unknown_method_on_a_class_node_raises_attribute_error():
    with pytest.raises(AttributeError, match="has no method 'nope'"):
        Counter.bind().nope


def test_a_node_passed_to_remote_raises_type_error():
    with pytest.raises(TypeError, match=r"cannot be pickled or passed to \.remote\(\)"):
        double.remote(double.bind(1))


def test_bad_method_options_raise_at_options():
    with pytest.raises(ValueError, match="unknown option"):
        Counter.bind().incr.options(num_cpus=1)


# ---- import paths --------------------------------------------------------------

def test_dag_is_importable_as_in_ray():
    import flare.dag
    from flare.dag import InputNode as Imported, MultiOutputNode as ImportedMulti

    assert flare.dag.InputNode is Imported is InputNode
    assert ImportedMulti is MultiOutputNode
    assert {"DAGNode", "FunctionNode", "ClassNode", "ClassMethodNode", "InputNode",
            "InputAttributeNode", "MultiOutputNode"} <= set(flare.dag.__all__)
