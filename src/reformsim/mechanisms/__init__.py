"""One module per mechanism of the daily schedule (DESIGN.md §3; domain.md M1-M16).

Each module exposes a small class with a documented ``step``-like method that the model calls in
schedule order. Mechanisms read levers from the scenario; none branches on a scenario's name.
"""
