import datetime as dt

from icalendar import Calendar

from entente.exercises import selectors, services
from entente.exercises.models import ExerciseState

from .conftest import DAY, SECRET, exercise


def test_exercise_walks_to_completion_and_shows_in_the_calendar(world):
    open_one = exercise(world)
    secret = exercise(world, "quiet-harbour", label=SECRET)
    services.advance(world.jp, open_one, ExerciseState.APPROVED, on=DAY)
    services.advance(world.uk, open_one, ExerciseState.PLANNING, on=DAY)
    start = DAY
    end = DAY + dt.timedelta(days=120)
    seen = {e.uid for e in selectors.calendar(world.uk, start, end, on=DAY)}
    assert f"exercise-{secret.pk}" in seen and f"exercise-{open_one.pk}" in seen
    assert {e.uid for e in selectors.calendar(world.uk_uncleared, start, end, on=DAY)} == {
        f"exercise-{open_one.pk}"}
    feed = Calendar.from_ical(selectors.ics(world.uk, start, end, on=DAY))
    uids = [str(c["uid"]) for c in feed.walk("VEVENT")]
    assert uids == [f"exercise-{open_one.pk}@entente"]
