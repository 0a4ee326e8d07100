"""What every list's FilterSet shares: the value each filter uses, for the page to show back."""

import django_filters


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, which also says which value a filter used (``asked``)."""

    def asked(self, name):
        """The value in use for ``name``, or None when it was not asked or could not be used."""
        self.form.is_valid()  # cleans the form once; a value that could not be used is not in cleaned_data
        return self.form.cleaned_data.get(name)
