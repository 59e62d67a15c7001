"""A task graph built with .bind() and run with execute().

From Ray's "Lazy computation graphs with the Ray DAG API": the graph is
described once, with an InputNode standing for the values given to
execute(); nothing runs until then. Each execute() submits the tasks and
actor calls again (with a fresh actor), and a node that several others use
runs once per execute.

Run:  python examples/dag.py
"""
import flare as ray
from flare.dag import InputNode, MultiOutputNode

ray.init()


@ray.remote
def preprocess(x):
    return x * 10


@ray.remote
def combine(a, b):
    return a + b


@ray.remote
class Model:
    def __init__(self, weight):
        self.weight = weight
        self.calls = 0

    def predict(self, x):
        self.calls += 1
        return x * self.weight

    def calls_made(self):
        return self.calls


with InputNode() as inp:
    features = preprocess.bind(inp.x)          # keyword input x, used twice below
    model = Model.bind(2)
    prediction = model.predict.bind(features)
    second = model.predict.bind(inp[0])        # first positional input
    total = combine.bind(prediction, second)
    dag = MultiOutputNode([features, prediction, total, model.calls_made.bind()])

for x, y in ((1, 5), (3, 7)):
    refs = dag.execute(y, x=x)
    print(f"execute({y}, x={x}): features, prediction, total, model calls =", ray.get(refs))
