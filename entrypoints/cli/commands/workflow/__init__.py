"""``gpt-trader workflow list | execute | status | cancel``; how executions print is in ``output``.

Nothing else lives here: the ``list`` sub-module, once imported, is an attribute of this package and
would shadow the builtin ``list`` for any code in this file.
"""
