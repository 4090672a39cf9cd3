"""The instruments as data: wording, response options, scoring, bands, flags and LOINC codes.

The administer form, the result pages and ``GET /api/v1/instruments/`` are generated from
these definitions; the numbers (band limits, subscales) come from ``scoring`` so that there is
one source for them. Wording is the published wording of each instrument:

- PHQ-9 and GAD-7: Spitzer, Kroenke, Williams and colleagues (Pfizer; no permission needed).
- AUDIT: Babor et al., WHO 2001. AUDIT-C: its first three questions (Bush et al. 1998), in the
  "past year" wording of the VA version.
- DAST-10: Skinner 1982 (Centre for Addiction and Mental Health).
- C-SSRS screener: Columbia Suicide Severity Rating Scale, Screen Version (Posner et al.).
- BAM: Brief Addiction Monitor, VA (Cacciola et al. 2013); days-based answers are converted to
  0–4 as the BAM scoring guide does (0 days, 1–3, 4–8, 9–15, 16–30).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openiop.measures import scoring


@dataclass(frozen=True)
class Option:
    value: int | bool | str
    label: str


@dataclass(frozen=True)
class Item:
    number: str  # "1".."N"; "6_when" for the C-SSRS follow-up
    text: str
    options: tuple[Option, ...]
    kind: str = "scale"  # "scale" (int), "yes_no" (bool) or "choice" (a word)
    help: str = ""
    # Asked only when another item has this answer, e.g. ("6", True); otherwise left out
    # (a "choice" follow-up) or answered "no" (the C-SSRS items the screener skips).
    asked_when: tuple[str, Any] | None = None


@dataclass(frozen=True)
class Band:
    name: str
    low: int | None  # total range, None when the band is a rule, not a range
    high: int | None
    meaning: str


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    title: str
    instructions: str
    timeframe: str
    items: tuple[Item, ...]
    scoring: str
    bands: tuple[Band, ...]
    flags: tuple[str, ...] = ()
    total_range: tuple[int, int] | None = None
    loinc_panel: str = ""
    loinc_total: str = ""
    subscales: dict[str, tuple[int, ...]] = field(default_factory=dict)
    source: str = ""

    @property
    def scored_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.kind != "choice")

    def item(self, number: str) -> Item:
        for i in self.items:
            if i.number == number:
                return i
        raise KeyError(number)

    def band(self, name: str) -> Band | None:
        return next((b for b in self.bands if b.name == name), None)

    def points(self, item: Item, value: Any) -> int | None:
        """What one answer adds to the total (None where answers are not summed)."""
        if self.total_range is None or item.kind == "choice":
            return None
        if item.kind == "yes_no":
            # DAST-10 item 3 ("always able to stop?") is reversed: "no" scores 1.
            return int(not value) if (self.code, item.number) == ("dast10", "3") else int(value)
        return int(value)

    def option_label(self, number: str, value: Any) -> str:
        """The words of an answer as it was given, e.g. "Several days" for PHQ-9 item 9 = 1."""
        try:
            item = self.item(number)
        except KeyError:
            return str(value)
        for option in item.options:
            if option.value == value and type(option.value) is type(value):
                return option.label
            if item.kind == "yes_no" and isinstance(value, int) and option.value == bool(value):
                return option.label
        return str(value)


def _options(*labels: str, start: int = 0) -> tuple[Option, ...]:
    return tuple(Option(start + n, label) for n, label in enumerate(labels))


YES_NO = (Option(True, "Yes"), Option(False, "No"))
OFTEN_2_WEEKS = _options(
    "Not at all", "Several days", "More than half the days", "Nearly every day"
)
DAYS_30 = _options("0 days", "1–3 days", "4–8 days", "9–15 days", "16–30 days")
AMOUNT = _options("Not at all", "Slightly", "Moderately", "Considerably", "Extremely")
AUDIT_FREQUENCY = _options(
    "Never", "Less than monthly", "Monthly", "Weekly", "Daily or almost daily"
)
AUDIT_DRINKING_DAYS = _options(
    "Never",
    "Monthly or less",
    "2 to 4 times a month",
    "2 to 3 times a week",
    "4 or more times a week",
)
AUDIT_TYPICAL = _options("1 or 2", "3 or 4", "5 or 6", "7, 8 or 9", "10 or more")
AUDIT_LAST_YEAR = (
    Option(0, "No"),
    Option(2, "Yes, but not in the last year"),
    Option(4, "Yes, during the last year"),
)


def _bands(
    limits: tuple[tuple[int, str], ...], top: int, meanings: dict[str, str]
) -> tuple[Band, ...]:
    out = []
    for n, (low, name) in enumerate(limits):
        high = limits[n + 1][0] - 1 if n + 1 < len(limits) else top
        out.append(Band(name, low, high, meanings[name]))
    return tuple(out)


def _items(kind: str, options: tuple[Option, ...], *texts: str) -> tuple[Item, ...]:
    return tuple(Item(str(n), t, options, kind) for n, t in enumerate(texts, start=1))


PHQ9 = Instrument(
    code="phq9",
    name="PHQ-9",
    title="Patient Health Questionnaire (PHQ-9)",
    instructions=(
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    ),
    timeframe="last 2 weeks",
    items=_items(
        "scale",
        OFTEN_2_WEEKS,
        "Little interest or pleasure in doing things",
        "Feeling down, depressed, or hopeless",
        "Trouble falling or staying asleep, or sleeping too much",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        "Feeling bad about yourself — or that you are a failure or have let yourself or your "
        "family down",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Moving or speaking so slowly that other people could have noticed? Or the opposite — "
        "being so fidgety or restless that you have been moving around a lot more than usual",
        "Thoughts that you would be better off dead or of hurting yourself in some way",
    ),
    scoring="Sum of the 9 items (each 0–3): 0–27.",
    bands=_bands(
        scoring.PHQ9_BANDS,
        27,
        {
            "minimal": "Minimal depression: watch and repeat.",
            "mild": "Mild depression: watch, support and repeat at follow-up.",
            "moderate": "Moderate depression: a treatment plan (counseling and/or medication).",
            "moderately severe": "Moderately severe depression: active treatment.",
            "severe": "Severe depression: active treatment now; consider psychiatric referral.",
        },
    ),
    flags=(
        "suicide_risk: item 9 answered above 0 (any thoughts of being better off dead or of "
        "self-harm). A suicide-risk alert goes to the care team and the clinical directors.",
    ),
    total_range=(0, 27),
    loinc_panel="44249-1",
    loinc_total="44261-6",
    source="Kroenke, Spitzer and Williams 2001. Public domain (Pfizer).",
)

GAD7 = Instrument(
    code="gad7",
    name="GAD-7",
    title="Generalized Anxiety Disorder scale (GAD-7)",
    instructions=(
        "Over the last 2 weeks, how often have you been bothered by the following problems?"
    ),
    timeframe="last 2 weeks",
    items=_items(
        "scale",
        OFTEN_2_WEEKS,
        "Feeling nervous, anxious, or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid, as if something awful might happen",
    ),
    scoring="Sum of the 7 items (each 0–3): 0–21.",
    bands=_bands(
        scoring.GAD7_BANDS,
        21,
        {
            "minimal": "Minimal anxiety.",
            "mild": "Mild anxiety: watch and repeat.",
            "moderate": "Moderate anxiety: assess further and add to the treatment plan.",
            "severe": "Severe anxiety: active treatment; consider psychiatric referral.",
        },
    ),
    total_range=(0, 21),
    loinc_panel="69737-5",
    loinc_total="70274-6",
    source="Spitzer, Kroenke, Williams and Löwe 2006. Public domain (Pfizer).",
)

_AUDIT_1_3 = (
    Item("1", "How often do you have a drink containing alcohol?", AUDIT_DRINKING_DAYS),
    Item(
        "2",
        "How many drinks containing alcohol do you have on a typical day when you are drinking?",
        AUDIT_TYPICAL,
    ),
    Item("3", "How often do you have six or more drinks on one occasion?", AUDIT_FREQUENCY),
)

AUDIT = Instrument(
    code="audit",
    name="AUDIT",
    title="Alcohol Use Disorders Identification Test (AUDIT)",
    instructions=(
        "These questions are about your use of alcoholic beverages during the past year. "
        "One drink is a 12 oz can or bottle of beer, a 5 oz glass of wine or 1.5 oz of liquor."
    ),
    timeframe="past year",
    items=(
        *_AUDIT_1_3,
        *(
            Item(str(n), text, AUDIT_FREQUENCY)
            for n, text in enumerate(
                (
                    "How often during the last year have you found that you were not able to "
                    "stop drinking once you had started?",
                    "How often during the last year have you failed to do what was normally "
                    "expected from you because of drinking?",
                    "How often during the last year have you needed a first drink in the morning "
                    "to get yourself going after a heavy drinking session?",
                    "How often during the last year have you had a feeling of guilt or remorse "
                    "after drinking?",
                    "How often during the last year have you been unable to remember what "
                    "happened the night before because you had been drinking?",
                ),
                start=4,
            )
        ),
        Item(
            "9",
            "Have you or someone else been injured as a result of your drinking?",
            AUDIT_LAST_YEAR,
        ),
        Item(
            "10",
            "Has a relative or friend or a doctor or another health worker been concerned about "
            "your drinking or suggested you cut down?",
            AUDIT_LAST_YEAR,
        ),
    ),
    scoring="Items 1–8 score 0–4, items 9 and 10 score 0, 2 or 4; sum 0–40.",
    bands=_bands(
        scoring.AUDIT_BANDS,
        40,
        {
            "zone I": "Zone I: alcohol education.",
            "zone II": "Zone II: simple advice.",
            "zone III": "Zone III: simple advice plus brief counseling and continued monitoring.",
            "zone IV": "Zone IV: refer for diagnostic evaluation and treatment.",
        },
    ),
    total_range=(0, 40),
    loinc_total="75624-7",
    source="Babor, Higgins-Biddle, Saunders and Monteiro, WHO 2001.",
)

AUDITC = Instrument(
    code="auditc",
    name="AUDIT-C",
    title="AUDIT-Consumption (AUDIT-C)",
    instructions="These questions are about your use of alcohol in the past year.",
    timeframe="past year",
    items=(
        Item(
            "1",
            "How often did you have a drink containing alcohol in the past year?",
            AUDIT_DRINKING_DAYS,
        ),
        Item(
            "2",
            "How many drinks containing alcohol did you have on a typical day when you were "
            "drinking in the past year?",
            _options("1 or 2", "3 or 4", "5 or 6", "7 to 9", "10 or more"),
        ),
        Item(
            "3",
            "How often did you have six or more drinks on one occasion in the past year?",
            AUDIT_FREQUENCY,
        ),
    ),
    scoring=(
        "Sum of the 3 items (each 0–4): 0–12. Positive at 4 or more for men and at 3 or more "
        "for women. When the sex recorded at birth is neither, the clinician chooses the "
        "cut-off; the lower (3, more sensitive) one is offered first."
    ),
    bands=(
        Band("negative", None, None, "Below the cut-off: no further alcohol screening needed now."),
        Band(
            "positive",
            None,
            None,
            "At or above the cut-off (4 for men, 3 for women): give the full AUDIT or assess "
            "alcohol use further.",
        ),
    ),
    total_range=(0, 12),
    loinc_total="75626-2",
    source="Bush, Kivlahan, McDonell, Fihn and Bradley 1998 (VA wording).",
)

DAST10 = Instrument(
    code="dast10",
    name="DAST-10",
    title="Drug Abuse Screening Test (DAST-10)",
    instructions=(
        "These questions are about your possible involvement with drugs, not including "
        "alcoholic beverages, during the past 12 months. “Drug abuse” means using prescribed "
        "or over-the-counter drugs more than directed, or any nonmedical use of drugs. Answer "
        "yes or no to each question."
    ),
    timeframe="past 12 months",
    items=_items(
        "yes_no",
        YES_NO,
        "Have you used drugs other than those required for medical reasons?",
        "Do you abuse more than one drug at a time?",
        "Are you always able to stop using drugs when you want to?",
        "Have you had “blackouts” or “flashbacks” as a result of drug use?",
        "Do you ever feel bad or guilty about your drug use?",
        "Does your spouse (or parents) ever complain about your involvement with drugs?",
        "Have you neglected your family because of your use of drugs?",
        "Have you engaged in illegal activities in order to obtain drugs?",
        "Have you ever experienced withdrawal symptoms (felt sick) when you stopped taking drugs?",
        "Have you had medical problems as a result of your drug use (for example memory loss, "
        "hepatitis, convulsions, bleeding)?",
    ),
    scoring="1 point for each yes, except item 3, where “no” scores 1: 0–10.",
    bands=_bands(
        scoring.DAST10_BANDS,
        10,
        {
            "none": "No problems reported.",
            "low": "Low level: monitor and reassess.",
            "moderate": "Moderate level: further investigation.",
            "substantial": "Substantial level: intensive assessment.",
            "severe": "Severe level: intensive assessment.",
        },
    ),
    total_range=(0, 10),
    loinc_total="82667-7",
    source="Skinner 1982 (Centre for Addiction and Mental Health).",
)

CSSRS_SCREEN = Instrument(
    code="cssrs_screen",
    name="C-SSRS screener",
    title="Columbia Suicide Severity Rating Scale — screener",
    instructions=(
        "Ask questions 1 and 2 about the past month. If the answer to question 2 is yes, ask "
        "questions 3, 4 and 5; if it is no, go to question 6 (questions 3 to 5 count as no). "
        "Always ask question 6, and if the answer is yes, ask when."
    ),
    timeframe="past month (question 6: lifetime, and whether in the past 3 months)",
    items=(
        Item(
            "1",
            "Have you wished you were dead or wished you could go to sleep and not wake up?",
            YES_NO,
            "yes_no",
        ),
        Item("2", "Have you actually had any thoughts of killing yourself?", YES_NO, "yes_no"),
        Item(
            "3",
            "Have you been thinking about how you might do this?",
            YES_NO,
            "yes_no",
            help="Asked when question 2 is yes.",
            asked_when=("2", True),
        ),
        Item(
            "4",
            "Have you had these thoughts and had some intention of acting on them?",
            YES_NO,
            "yes_no",
            help="Asked when question 2 is yes.",
            asked_when=("2", True),
        ),
        Item(
            "5",
            "Have you started to work out or worked out the details of how to kill yourself? "
            "Do you intend to carry out this plan?",
            YES_NO,
            "yes_no",
            help="Asked when question 2 is yes.",
            asked_when=("2", True),
        ),
        Item(
            "6",
            "Have you ever done anything, started to do anything, or prepared to do anything to "
            "end your life?",
            YES_NO,
            "yes_no",
            help=(
                "For example: collected pills, obtained a gun, gave away valuables, wrote a will "
                "or suicide note, took out pills but didn't swallow any, held a gun but changed "
                "your mind or it was grabbed from your hand, went to the roof but didn't jump; "
                "or actually took pills, tried to shoot yourself, cut yourself, tried to hang "
                "yourself."
            ),
        ),
        Item(
            "6_when",
            "Was this within the past 3 months?",
            (
                Option("past_3_months", "Yes, in the past 3 months"),
                Option("more_than_3_months_ago", "No, more than 3 months ago"),
            ),
            "choice",
            help="Asked when question 6 is yes.",
            asked_when=("6", True),
        ),
    ),
    scoring=(
        "Triage, no total. High: yes to question 4 or 5, or question 6 in the past 3 months. "
        "Moderate: yes to question 3, or question 6 more than 3 months ago. Low: yes to "
        "question 1 or 2 only. None: all no."
    ),
    bands=(
        Band("none", None, None, "No suicidal ideation or behavior reported."),
        Band(
            "low",
            None,
            None,
            "Wish to be dead or thoughts of suicide without method, intent "
            "or plan: mental-health follow-up and safety planning at the next contact.",
        ),
        Band(
            "moderate",
            None,
            None,
            "Thoughts with a method, or behavior more than 3 months "
            "ago: full suicide risk assessment and safety plan today.",
        ),
        Band(
            "high",
            None,
            None,
            "Intent, a plan, or behavior in the past 3 months: do not "
            "leave the person alone; full suicide risk assessment now; if the danger is "
            "imminent call 911 or 988.",
        ),
    ),
    flags=(
        "suicide_risk: band moderate or high. A suicide-risk alert goes to the care team and "
        "the clinical directors.",
    ),
    source="Posner et al., Columbia Suicide Severity Rating Scale, Screen Version.",
)

_BAM_TEXTS: tuple[tuple[str, tuple[Option, ...], str], ...] = (
    (
        "In the past 30 days, would you say your physical health has been:",
        _options("Excellent", "Very good", "Good", "Fair", "Poor"),
        "",
    ),
    (
        "In the past 30 days, how many nights did you have trouble falling asleep or staying "
        "asleep?",
        _options("0 nights", "1–3 nights", "4–8 nights", "9–15 nights", "16–30 nights"),
        "",
    ),
    (
        "In the past 30 days, how many days have you felt depressed, anxious, angry or very "
        "upset throughout most of the day?",
        DAYS_30,
        "",
    ),
    ("In the past 30 days, how many days did you drink ANY alcohol?", DAYS_30, ""),
    (
        "In the past 30 days, how many days did you have at least 5 drinks (if you are a man) "
        "or at least 4 drinks (if you are a woman)?",
        DAYS_30,
        "One drink is one shot of hard liquor (1.5 oz), a 12 oz can or bottle of beer, or a 5 oz "
        "glass of wine.",
    ),
    (
        "In the past 30 days, how many days did you use any illegal/street drugs or abuse any "
        "prescription medications?",
        DAYS_30,
        "",
    ),
    (
        "In the past 30 days, how many days did you use the drug you used most: marijuana, "
        "sedatives/tranquilizers, cocaine/crack, other stimulants, opiates, inhalants or other "
        "drugs?",
        DAYS_30,
        "The published BAM asks this for each drug; record the days of the drug used most "
        "and name the drugs in the notes.",
    ),
    (
        "In the past 30 days, how much were you bothered by cravings or urges to drink alcohol "
        "or use drugs?",
        AMOUNT,
        "",
    ),
    (
        "How confident are you in your ability to be completely abstinent (clean) from alcohol "
        "and drugs in the next 30 days?",
        AMOUNT,
        "",
    ),
    (
        "In the past 30 days, how many days did you attend self-help meetings like AA or NA to "
        "support your recovery?",
        DAYS_30,
        "",
    ),
    (
        "In the past 30 days, how many days were you in any situations or with any people that "
        "might put you at an increased risk for using alcohol or drugs (around risky “people, "
        "places or things”)?",
        DAYS_30,
        "",
    ),
    ("Does your religion or spirituality help support your recovery?", AMOUNT, ""),
    (
        "In the past 30 days, how many days did you spend much of the time at work, school, or "
        "doing volunteer work?",
        DAYS_30,
        "",
    ),
    (
        "Do you have enough income (from legal sources) to pay for necessities such as housing, "
        "transportation, food and clothing for yourself and your dependents?",
        (Option(0, "No"), Option(4, "Yes")),
        "",
    ),
    (
        "In the past 30 days, how much have you been bothered by arguments or problems getting "
        "along with any family members or friends?",
        AMOUNT,
        "",
    ),
    (
        "In the past 30 days, how many days were you in contact or spent time with any family "
        "members or friends who are supportive of your recovery?",
        DAYS_30,
        "",
    ),
    ("How satisfied are you with your progress toward achieving your recovery goals?", AMOUNT, ""),
)

BAM = Instrument(
    code="bam",
    name="BAM",
    title="Brief Addiction Monitor (BAM)",
    instructions=(
        "These questions are about the past 30 days. Answers in days are recorded in ranges: "
        "0 days, 1–3, 4–8, 9–15 or 16–30."
    ),
    timeframe="past 30 days",
    items=tuple(
        Item(str(n), text, options, "scale", help=help_text)
        for n, (text, options, help_text) in enumerate(_BAM_TEXTS, start=1)
    ),
    scoring=(
        "No total. Three subscales, each a sum of 0–4 answers: use = items 4, 5, 6; "
        "risk factors = items 1, 2, 3, 8, 11, 15; protective factors = items 9, 10, 12, 13, "
        "14, 16. Item 7 (drugs) and item 17 (satisfaction) are followed on their own."
    ),
    bands=(),
    subscales=dict(scoring.BAM_SUBSCALES),
    source="Cacciola et al. 2013, Brief Addiction Monitor (U.S. Department of Veterans Affairs).",
)

DEFINITIONS: dict[str, Instrument] = {
    i.code: i for i in (PHQ9, GAD7, AUDIT, AUDITC, DAST10, CSSRS_SCREEN, BAM)
}

# How a band is shown on the chart (names are shared between instruments: a C-SSRS
# "moderate" carries the suicide_risk flag and is shown as urgent for that reason).
URGENT_BANDS = frozenset({"moderately severe", "severe", "zone IV", "substantial", "high"})
CONCERN_BANDS = frozenset({"moderate", "zone II", "zone III", "positive"})
CLEAR_BANDS = frozenset({"minimal", "none", "negative", "zone I"})
FLAG_LABELS = {scoring.SUICIDE_RISK: "Suicide risk"}
SUBSCALE_TITLES = {"use": "Use", "risk": "Risk factors", "protective": "Protective factors"}


def definition(code: str) -> Instrument:
    """The instrument, or ``KeyError`` for an unknown code."""
    return DEFINITIONS[code]


def as_dict(instrument: Instrument) -> dict[str, Any]:
    """The definition as the API serves it."""
    return {
        "code": instrument.code,
        "name": instrument.name,
        "title": instrument.title,
        "instructions": instrument.instructions,
        "timeframe": instrument.timeframe,
        "items": [
            {
                "number": i.number,
                "text": i.text,
                "kind": i.kind,
                "help": i.help,
                "asked_when": (
                    {"item": i.asked_when[0], "answer": i.asked_when[1]} if i.asked_when else None
                ),
                "options": [{"value": o.value, "label": o.label} for o in i.options],
            }
            for i in instrument.items
        ],
        "scoring": instrument.scoring,
        "total_range": list(instrument.total_range) if instrument.total_range else None,
        "bands": [
            {"name": b.name, "low": b.low, "high": b.high, "meaning": b.meaning}
            for b in instrument.bands
        ],
        "flags": list(instrument.flags),
        "subscales": {k: list(v) for k, v in instrument.subscales.items()},
        "loinc": {"panel": instrument.loinc_panel, "total": instrument.loinc_total},
        "source": instrument.source,
    }
