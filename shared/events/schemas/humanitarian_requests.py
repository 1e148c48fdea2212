"""Events of the humanitarian requests service: aid requests, incident reports and offers.

(The humanitarian requests service owns this contract; the monitoring service consumes it.)
"""

from __future__ import annotations
