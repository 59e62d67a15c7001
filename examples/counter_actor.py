"""A class becomes an actor with the same decorator.

From "Ray: .remote() makes classes parallel too": the Counter class, created
with ``Counter.remote()`` and called with ``.remote()``; the calls of one
caller run in order on the actor's own process, which keeps the state.

Run:  python examples/counter_actor.py
"""
import flare as ray

ray.init()


@ray.remote
class Counter:
    def __init__(self):
        self.value = 0

    def increment(self):
        self.value += 1
        return self.value

    def get_counter(self):
        return self.value


# Create an actor from this class.
counter = Counter.remote()
refs = [counter.increment.remote() for _ in range(10)]
print("increments:", ray.get(refs))
print("counter:", ray.get(counter.get_counter.remote()))
