"""The marketplace: the skills taxonomy, provider profiles, listings and their engagements,
proposals and the free-bid quota, offers, contracts with milestones, and the track record."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
    URLValidator,
)
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from chatbox.models import SealedFile
from chatbox.uploads import FILE_NAME_MAX, IMAGE_TYPES

PROJECT_TITLE_MAX = 200
PROJECT_DESCRIPTION_MAX = 10_000
# The most a budget, a bid or a price may be, in minor units: far above any real engagement.
AMOUNT_MAX = 1_000_000_000_00


class Project(models.Model):
    """A buyer's listing: what is to be done, in which category and skills, for what budget.

    ``selectors.project_for_viewer`` decides who may see it: an open public listing is seen by
    every signed-in member; an invite-only one (or one bought as an offer) by its buyer, the
    providers invited to it and those engaged on it.
    """

    class BudgetKind(models.TextChoices):
        FIXED = "fixed", "Fixed price"
        HOURLY = "hourly", "Hourly rate"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        CLOSED = "closed", "Closed"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        INVITE_ONLY = "invite_only", "Invited providers only"

    title = models.CharField(max_length=PROJECT_TITLE_MAX)
    description = models.TextField(
        blank=True, validators=[MaxLengthValidator(PROJECT_DESCRIPTION_MAX)]
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="projects"
    )
    category = models.ForeignKey(
        "Category", on_delete=models.PROTECT, null=True, blank=True, related_name="projects"
    )
    skills: models.ManyToManyField[Skill, Any] = models.ManyToManyField(
        "Skill", blank=True, related_name="projects"
    )
    budget_amount = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Minor units of budget_currency."
    )
    budget_currency = models.CharField(max_length=3, blank=True, help_text="ISO 4217.")
    budget_kind = models.CharField(
        max_length=8, choices=BudgetKind.choices, default=BudgetKind.FIXED
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    # Set when the project was made by buying a provider's offer; such a project is not listed.
    offer = models.ForeignKey(
        "Offer", on_delete=models.PROTECT, null=True, blank=True, related_name="projects"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "-created_at"], name="project_status_recent")]
        constraints = [
            models.CheckConstraint(
                name="project_status_known",
                condition=Q(status__in=["open", "in_progress", "closed"]),
            ),
            models.CheckConstraint(
                name="project_budget_whole_or_absent",
                condition=Q(budget_amount__isnull=True, budget_currency="")
                | Q(
                    budget_amount__gt=0,
                    budget_amount__lte=AMOUNT_MAX,
                    budget_currency__regex=r"^[A-Z]{3}$",
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Engagement(models.Model):
    """A buyer and a provider on one project, and the one conversation between them."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="engagements")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="engagements"
    )
    conversation = models.OneToOneField(
        "chatbox.Conversation", on_delete=models.PROTECT, related_name="engagement"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "provider"], name="one_engagement_per_provider"
            ),
            models.CheckConstraint(
                name="provider_is_not_buyer", condition=~models.Q(provider=models.F("buyer"))
            ),
        ]


# -- the skills taxonomy ---------------------------------------------------------------------------


class Category(models.Model):
    """A category of work, from the fixed taxonomy shipped in ``projects/data/taxonomy.json``."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in the taxonomy.")

    class Meta:
        ordering = ["position", "slug"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Skill(models.Model):
    """A skill of one category. Slugs are unique across categories: a slug alone names a skill."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="skills")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in its category.")

    class Meta:
        ordering = ["category__position", "position", "slug"]

    def __str__(self) -> str:
        return self.name


# -- provider profiles -----------------------------------------------------------------------------

HEADLINE_MAX = 120
BIO_MAX = 5_000
TITLE_MAX = 120
DESCRIPTION_MAX = 2_000
LINK_MAX = 500
# The most an hour may cost, in minor units: far above any real rate, far below any overflow.
HOURLY_RATE_MAX = 100_000_000
CREDENTIAL_YEAR_MIN = 1900
CREDENTIAL_YEAR_MAX = 2100

web_link = URLValidator(schemes=["http", "https"], message="Enter an http:// or https:// link.")
currency_code = RegexValidator(
    r"^[A-Z]{3}\Z", message="Enter an ISO 4217 currency code: three capital letters."
)


class ProviderProfile(models.Model):
    """What a provider shows buyers; ``selectors.profile_for_viewer`` decides who may see it."""

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        PRIVATE = "private", "Private"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provider_profile"
    )
    headline = models.CharField(max_length=HEADLINE_MAX, blank=True)
    # TextField's max_length only sizes the form widget: the validator enforces it.
    bio = models.TextField(max_length=BIO_MAX, blank=True, validators=[MaxLengthValidator(BIO_MAX)])
    hourly_rate_amount = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(HOURLY_RATE_MAX)],
        help_text="Minor units (cents) of hourly_rate_currency; empty: no rate shown.",
    )
    hourly_rate_currency = models.CharField(
        max_length=3, blank=True, validators=[currency_code], help_text="ISO 4217."
    )
    skills = models.ManyToManyField(Skill, blank=True, related_name="profiles")
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="profile_visibility_known", condition=Q(visibility__in=["public", "private"])
            ),
            models.CheckConstraint(
                name="profile_bio_at_most_5000", condition=LessThanOrEqual(Length("bio"), BIO_MAX)
            ),
            # A rate is an amount and its currency, or nothing at all.
            models.CheckConstraint(
                name="profile_rate_whole_or_absent",
                condition=(
                    Q(hourly_rate_amount__isnull=True, hourly_rate_currency="")
                    | Q(
                        hourly_rate_amount__isnull=False,
                        hourly_rate_amount__gte=0,
                        hourly_rate_amount__lte=HOURLY_RATE_MAX,
                        hourly_rate_currency__regex=r"^[A-Z]{3}$",
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    @property
    def is_public(self) -> bool:
        return self.visibility == self.Visibility.PUBLIC


class PortfolioItem(SealedFile):
    """A piece of past work: a title, and a link, a file (an image or a PDF), both or neither,
    and a description. The file is sealed in the row (``SealedFile``); its sniffed type, size
    and cleaned name are kept beside it, and all of them are there or none."""

    profile = models.ForeignKey(
        ProviderProfile, on_delete=models.CASCADE, related_name="portfolio_items"
    )
    title = models.CharField(max_length=TITLE_MAX)
    link = models.URLField(max_length=LINK_MAX, blank=True, validators=[web_link])
    description = models.TextField(
        max_length=DESCRIPTION_MAX, blank=True, validators=[MaxLengthValidator(DESCRIPTION_MAX)]
    )
    position = models.PositiveSmallIntegerField(default=0)
    file_name = models.CharField(max_length=FILE_NAME_MAX, blank=True)
    file_content_type = models.CharField(max_length=64, blank=True)
    file_size = models.PositiveIntegerField(null=True, blank=True)

    blob_purpose = "portfolio-file"

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(name="portfolio_title_not_blank", condition=~Q(title="")),
            models.CheckConstraint(
                name="portfolio_link_is_web",
                condition=Q(link="")
                | Q(link__startswith="http://")
                | Q(link__startswith="https://"),
            ),
            models.CheckConstraint(
                name="portfolio_description_at_most_2000",
                condition=LessThanOrEqual(Length("description"), DESCRIPTION_MAX),
            ),
            models.CheckConstraint(
                name="portfolio_file_whole_or_absent",
                condition=(
                    Q(
                        kek_id="",
                        wrapped_key__isnull=True,
                        ciphertext__isnull=True,
                        file_name="",
                        file_content_type="",
                        file_size__isnull=True,
                    )
                    | (
                        Q(
                            wrapped_key__isnull=False,
                            ciphertext__isnull=False,
                            file_size__isnull=False,
                        )
                        & ~Q(kek_id="")
                        & ~Q(file_name="")
                        & ~Q(file_content_type="")
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def has_file(self) -> bool:
        """Without reading the sealed columns (lists of items defer them)."""
        return self.file_content_type != ""

    @property
    def file_is_image(self) -> bool:
        return self.file_content_type in IMAGE_TYPES

    def file_clear(self) -> None:
        """Forget the file and what is known of it (not saved)."""
        super().file_clear()
        self.file_name, self.file_content_type, self.file_size = "", "", None


# The columns of a portfolio item's file, sealed and described: written together or not at all.
PORTFOLIO_FILE_FIELDS = [
    "kek_id",
    "wrapped_key",
    "ciphertext",
    "file_name",
    "file_content_type",
    "file_size",
]


class Credential(models.Model):
    """A certificate, degree or licence the provider holds, as they state it."""

    profile = models.ForeignKey(
        ProviderProfile, on_delete=models.CASCADE, related_name="credentials"
    )
    title = models.CharField(max_length=TITLE_MAX)
    issuer = models.CharField(max_length=TITLE_MAX, blank=True)
    year = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(CREDENTIAL_YEAR_MIN), MaxValueValidator(CREDENTIAL_YEAR_MAX)],
    )
    url = models.URLField(max_length=LINK_MAX, blank=True, validators=[web_link])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(name="credential_title_not_blank", condition=~Q(title="")),
            models.CheckConstraint(
                name="credential_year_plausible",
                condition=Q(year__isnull=True)
                | Q(year__gte=CREDENTIAL_YEAR_MIN, year__lte=CREDENTIAL_YEAR_MAX),
            ),
            models.CheckConstraint(
                name="credential_url_is_web",
                condition=Q(url="") | Q(url__startswith="http://") | Q(url__startswith="https://"),
            ),
        ]

    def __str__(self) -> str:
        return self.title


# -- skills assessments ----------------------------------------------------------------------------


class AssessmentAttempt(models.Model):
    """One timed quiz of a provider on one skill; ``projects.assessments`` runs it.

    Open while unscored (``score`` is null): at most one open attempt per provider and skill.
    An attempt is scored when submitted in time, or as failed (score 0, never submitted) when
    its deadline has passed and the provider starts again. The questions are ids of the bank
    in ``projects/data/questions.json``; the right answers stay there, never on this row.
    """

    provider = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assessment_attempts"
    )
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    deadline = models.DateTimeField()
    question_ids = models.JSONField(default=list, help_text="Ids drawn from the bank, in order.")
    answers = models.JSONField(default=dict, help_text="Question id → chosen option index.")
    submitted_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Right answers.")
    passed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "skill"],
                condition=Q(score__isnull=True),
                name="one_open_assessment_per_skill",
            ),
            models.CheckConstraint(
                name="assessment_deadline_after_start",
                condition=Q(deadline__gt=models.F("started_at")),
            ),
            # Time is the server's: nothing is recorded as submitted after the deadline.
            models.CheckConstraint(
                name="assessment_submitted_in_time",
                condition=Q(submitted_at__isnull=True)
                | Q(submitted_at__lte=models.F("deadline"), score__isnull=False),
            ),
            models.CheckConstraint(
                name="assessment_open_has_not_passed",
                condition=Q(score__isnull=False) | Q(passed=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.skill} assessment of {self.provider}"

    @property
    def is_open(self) -> bool:
        return self.score is None


# -- invitations, proposals and the free-bid quota -------------------------------------------------

COVER_LETTER_MAX = 5_000
DURATION_DAYS_MAX = 3_650


class Invitation(models.Model):
    """A buyer invites a provider to a project: the provider's proposal on it costs no bid, and
    the provider's private profile shows to that buyer."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    provider = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations"
    )
    message = models.TextField(blank=True, validators=[MaxLengthValidator(COVER_LETTER_MAX)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["project", "provider"], name="one_invitation_each"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} invited to {self.project}"


class Proposal(models.Model):
    """A provider's bid on a project: a cover letter, an amount and a duration."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        WITHDRAWN = "withdrawn", "Withdrawn"
        DECLINED = "declined", "Declined"
        ACCEPTED = "accepted", "Accepted"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="proposals")
    provider = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposals"
    )
    cover_letter = models.TextField(validators=[MaxLengthValidator(COVER_LETTER_MAX)])
    amount = models.PositiveBigIntegerField(help_text="Minor units of currency.")
    currency = models.CharField(max_length=3, help_text="ISO 4217.")
    duration_days = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.SUBMITTED)
    # False when the provider was invited to the project: such a proposal costs no bid.
    costs_bid = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One live proposal per provider and project; a withdrawn or declined one does not
            # block a new bid (which costs a bid again).
            models.UniqueConstraint(
                fields=["project", "provider"],
                condition=Q(state__in=["submitted", "accepted"]),
                name="one_live_proposal_each",
            ),
            models.CheckConstraint(
                name="proposal_terms_sane",
                condition=Q(amount__gt=0, amount__lte=AMOUNT_MAX, currency__regex=r"^[A-Z]{3}$")
                & Q(duration_days__gte=1, duration_days__lte=DURATION_DAYS_MAX),
            ),
            models.CheckConstraint(
                name="proposal_decided_when_not_submitted",
                condition=Q(state="submitted", decided_at__isnull=True)
                | Q(state__in=["withdrawn", "declined", "accepted"], decided_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"proposal of {self.provider} on {self.project}"


class BidAllowance(models.Model):
    """How many free bids a provider has spent in one calendar month (UTC).

    The month's row is locked while a bid is spent, so two proposals racing for the last bid
    cannot both have it; a new month is a new row, so the quota renews without a cron.
    """

    provider = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bid_allowances"
    )
    month = models.DateField(help_text="The first day of the month.")
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "month"], name="one_allowance_per_month"),
            models.CheckConstraint(name="allowance_month_first_day", condition=Q(month__day=1)),
        ]

    def __str__(self) -> str:
        return f"{self.provider}: {self.used} bids in {self.month:%Y-%m}"


# -- offers, contracts, milestones -----------------------------------------------------------------


class Offer(models.Model):
    """A provider's fixed-price package: a buyer buys it and a contract starts."""

    provider = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="offers"
    )
    title = models.CharField(max_length=PROJECT_TITLE_MAX)
    included = models.TextField(validators=[MaxLengthValidator(PROJECT_DESCRIPTION_MAX)])
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="offers")
    price_amount = models.PositiveBigIntegerField(help_text="Minor units of price_currency.")
    price_currency = models.CharField(max_length=3, help_text="ISO 4217.")
    delivery_days = models.PositiveIntegerField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="offer_terms_sane",
                condition=Q(
                    price_amount__gt=0,
                    price_amount__lte=AMOUNT_MAX,
                    price_currency__regex=r"^[A-Z]{3}$",
                    delivery_days__gte=1,
                    delivery_days__lte=DURATION_DAYS_MAX,
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Contract(models.Model):
    """The terms a buyer and a provider agreed on one engagement, and its milestones.

    Made by accepting a proposal or buying an offer; its events are posted into the
    engagement's conversation. Ended by either party: ``outcome`` says how.
    """

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    class Outcome(models.TextChoices):
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled by the buyer"
        WITHDRAWN = "withdrawn", "Withdrawn by the provider"

    engagement = models.ForeignKey(Engagement, on_delete=models.PROTECT, related_name="contracts")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="contracts")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contracts"
    )
    proposal = models.OneToOneField(
        Proposal, on_delete=models.PROTECT, null=True, blank=True, related_name="contract"
    )
    offer = models.ForeignKey(
        Offer, on_delete=models.PROTECT, null=True, blank=True, related_name="contracts"
    )
    title = models.CharField(max_length=PROJECT_TITLE_MAX)
    terms = models.TextField(blank=True, validators=[MaxLengthValidator(PROJECT_DESCRIPTION_MAX)])
    amount = models.PositiveBigIntegerField(help_text="The agreed total, minor units.")
    currency = models.CharField(max_length=3, help_text="ISO 4217.")
    kind = models.CharField(max_length=8, choices=Project.BudgetKind.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.ACTIVE)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    end_note = models.TextField(blank=True, validators=[MaxLengthValidator(COVER_LETTER_MAX)])

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["engagement"], condition=Q(state="active"), name="one_active_contract"
            ),
            models.CheckConstraint(
                name="contract_ended_consistently",
                condition=Q(state="active", ended_at__isnull=True, outcome="")
                | Q(
                    state="ended",
                    ended_at__isnull=False,
                    outcome__in=["completed", "cancelled", "withdrawn"],
                ),
            ),
            models.CheckConstraint(
                name="contract_amount_sane",
                condition=Q(amount__gt=0, amount__lte=AMOUNT_MAX, currency__regex=r"^[A-Z]{3}$"),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE


class Milestone(models.Model):
    """A part of a contract's work with its amount and due date; the money side funds it."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="milestones")
    title = models.CharField(max_length=PROJECT_TITLE_MAX)
    amount = models.PositiveBigIntegerField(help_text="Minor units of the contract's currency.")
    due_on = models.DateField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                name="milestone_amount_sane", condition=Q(amount__gt=0, amount__lte=AMOUNT_MAX)
            ),
        ]

    def __str__(self) -> str:
        return self.title


# -- track record ----------------------------------------------------------------------------------

REVIEW_TEXT_MAX = 5_000


class Review(models.Model):
    """One party's review of the other, once per ended contract."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="reviews")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_received"
    )
    rating = models.PositiveSmallIntegerField()
    text = models.TextField(blank=True, validators=[MaxLengthValidator(REVIEW_TEXT_MAX)])
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "author"], name="one_review_each"),
            models.CheckConstraint(
                name="review_rating_1_to_5", condition=Q(rating__gte=1, rating__lte=5)
            ),
            models.CheckConstraint(
                name="review_not_of_oneself", condition=~Q(author=models.F("subject"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 for {self.subject} on {self.contract}"


class Endorsement(models.Model):
    """A past client's or colleague's word for a provider, asked for by an e-mail link.

    The link's token is stored only as its SHA-256; ``given_at`` is set once the endorser
    writes. Endorsements show on the profile apart from reviews.
    """

    class Relationship(models.TextChoices):
        CLIENT = "client", "Past client"
        COLLEAGUE = "colleague", "Colleague"

    provider = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="endorsements"
    )
    endorser_name = models.CharField(max_length=TITLE_MAX)
    endorser_email = models.EmailField()
    relationship = models.CharField(max_length=16, choices=Relationship.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    requested_at = models.DateTimeField(default=timezone.now)
    text = models.TextField(blank=True, validators=[MaxLengthValidator(REVIEW_TEXT_MAX)])
    given_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-given_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "endorser_email"], name="one_endorsement_per_endorser"
            ),
            models.CheckConstraint(
                name="endorsement_given_with_text",
                condition=Q(given_at__isnull=True, text="")
                | Q(given_at__isnull=False) & ~Q(text=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.endorser_name} for {self.provider}"
