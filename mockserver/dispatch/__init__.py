"""The mock calls the user's code: timers on the clock, outbound HTTP, and the dispatcher.

- `Timers`: store-backed one-shot timers of one API (due time, kind, arguments). Firing
  claims a timer by deleting it, so two processes sharing a store never fire it twice.
- `Outbound`: HTTP calls to URLs the user registered (worker endpoints, action URLs,
  webhooks) on a small thread pool, with bounded timeouts, each one recorded in the journal.
- `Dispatcher`: runs whatever is due. On a virtual clock `advance(seconds)` walks the clock
  from one due moment to the next (same seed and requests, same firings); on a real clock a
  daemon thread wakes up a few times a second.
- `sapcron`: SAP Job Scheduling's cron, repeatInterval and repeatAt formats.

None of this imports Flask or knows a vendor; vendor modules use it through `ApiContext`.
"""

from mockserver.dispatch.dispatcher import Dispatcher, Scheduled
from mockserver.dispatch.outbound import Outbound, OutboundRequest, OutboundResult
from mockserver.dispatch.timers import Timer, Timers

__all__ = ["Dispatcher", "Outbound", "OutboundRequest", "OutboundResult", "Scheduled", "Timer",
           "Timers"]
