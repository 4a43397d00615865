"""The object in a URL is looked up for the viewer before anything else is decided.

Put `@found(lookup)` above the method decorator: someone who may not see the object gets
the lookup's 404 whatever the method, so neither the status code nor the method tells them
whether it exists. `lookup(request, *values)` gets the named URL values (default: `pk`) and
returns the object or raises Http404; the view receives the object after its other
positional arguments, in place of those values."""

from functools import wraps


def found(lookup, *names):
    names = names or ("pk",)

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            obj = lookup(request, *(kwargs.pop(name) for name in names))
            return view(request, *args, obj, **kwargs)
        return wrapper
    return decorator
