"""Import every model so Alembic and create_all see the whole schema."""
from .audit.models import AuditEntry  # noqa: F401
from .auth.models import LoginAttempt, LoginThrottle, RecoveryCode, Team, User, UserSession  # noqa: F401
from .auth.parked import ParkedPost  # noqa: F401
from .callback_requests.models import CallAttempt, CallBackRequest, UniqueCallBack  # noqa: F401
from .callbacks.models import CallBack, CaseViewGrant  # noqa: F401
from .cases.drafts import CaseDraft  # noqa: F401
from .cases.models import Case, CaseNote, Referral, Signpost  # noqa: F401
from .contacts.models import Contact, Verification  # noqa: F401
from .interactions.models import Interaction, InteractionHandler  # noqa: F401
from .knowledge.models import Article, LocalTeam, LocalTeamRegion, Organisation  # noqa: F401
from .lookups.models import LookupItem, ResponseTypeField  # noqa: F401
from .mailer import OutboxMail  # noqa: F401
from .notifications.models import Notification  # noqa: F401
from .review.models import ExportBatch  # noqa: F401
from .site_settings import Setting  # noqa: F401
from .submissions import Submission  # noqa: F401
from .supervisor.models import ReviewMark  # noqa: F401
from .telephony.models import Call  # noqa: F401
