"""The marketplace: the skills taxonomy, provider profiles, projects and their engagements.

Listings, bids and contracts come later.
"""

from __future__ import annotations

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


class Project(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="projects"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title


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


class PortfolioItem(models.Model):
    """A piece of past work: a title, an optional link, a description. Files come later."""

    profile = models.ForeignKey(
        ProviderProfile, on_delete=models.CASCADE, related_name="portfolio_items"
    )
    title = models.CharField(max_length=TITLE_MAX)
    link = models.URLField(max_length=LINK_MAX, blank=True, validators=[web_link])
    description = models.TextField(
        max_length=DESCRIPTION_MAX, blank=True, validators=[MaxLengthValidator(DESCRIPTION_MAX)]
    )
    position = models.PositiveSmallIntegerField(default=0)

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
        ]

    def __str__(self) -> str:
        return self.title


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
