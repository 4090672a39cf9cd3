from tests.notes.conftest import absent, attendees, people, program, schedule, session  # noqa: F401
