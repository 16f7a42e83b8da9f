"""The conversion idioms: one module per torch pattern and its Lightning equivalent.

Every :class:`~pl_convert.converter.idiom.Idiom` subclass defined here is found by
:func:`pl_convert.converter.registry.all_idioms` (nothing to register by hand). See
:mod:`pl_convert.converter.idiom` for the stages an idiom can take part in, and
docs/conversions.md (``python -m pl_convert.converter.docs``) for what each one does.
"""
