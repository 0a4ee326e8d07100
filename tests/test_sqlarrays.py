"""Lists sent as one array literal come back as they were, whatever their strings hold."""

import pytest
from django.db import connection

from opsview.common import sqlarrays

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="array literals are PostgreSQL's"),
]


def test_strings_with_quotes_backslashes_braces_and_commas_come_back_as_sent():
    values = ["plain", 'a "quoted" id', "back\\slash", "{braces,and,commas}", " spaced ", "NULL", "", "é 😀"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sqlarrays.TEXTS}, {sqlarrays.BIGINTS}", [sqlarrays.texts(values), sqlarrays.bigints([1, 2**62])]
        )
        assert cursor.fetchone() == (values, [1, 2**62])


@pytest.mark.parametrize("values", [["1"], [1.5], [True], [None]])
def test_anything_but_integers_is_refused_as_bigints(values):
    with pytest.raises(TypeError):
        sqlarrays.bigints(values)
