"""Services: typed operations on a session, each one transaction (validate, write, commit).

Every function takes the ``AsyncSession`` first. Bad input raises an
:class:`~africare_data.errors.InvalidInputError` before any I/O; a constraint the database
enforces raises the matching domain error from :mod:`africare_data.errors`. A writing call that
returns has committed the session's transaction; one that raises commits nothing, undoes its own
statements and leaves the caller's work in progress in the session, uncommitted. The whole
contract is in :mod:`africare_data.services._transaction`.
"""

from africare_data.services.availability import (
    add_extra_availability,
    add_time_off,
    get_availability_exceptions,
    get_weekly_availability,
    remove_time_off,
    set_weekly_availability,
)
from africare_data.services.bookings import (
    ACTIVE_STATUSES,
    BookingService,
    create_event_type,
    get_event_type,
    get_event_types,
)
from africare_data.services.examples import (
    create_example,
    delete_example,
    get_example,
    get_examples,
    update_example,
)
from africare_data.services.offerings import (
    find_first_free_slot,
    get_offered_event_types,
    set_offered_event_types,
)
from africare_data.services.users import (
    create_post,
    create_user,
    find_users_by_email,
    get_user,
    get_user_with_posts,
)

__all__ = [
    "ACTIVE_STATUSES",
    "BookingService",
    "add_extra_availability",
    "add_time_off",
    "create_event_type",
    "create_example",
    "create_post",
    "create_user",
    "delete_example",
    "find_first_free_slot",
    "find_users_by_email",
    "get_availability_exceptions",
    "get_event_type",
    "get_event_types",
    "get_example",
    "get_examples",
    "get_offered_event_types",
    "get_user",
    "get_user_with_posts",
    "get_weekly_availability",
    "remove_time_off",
    "set_offered_event_types",
    "set_weekly_availability",
    "update_example",
]
