"""The standard plan library every organization starts from (and can edit or restore).

Common problems of an adult IOP for substance use with co-occurring depression, anxiety
and trauma, each with a goal as a patient might say it, measurable objectives and the
interventions that work on them (SPEC §3–§4; Matrix Model groups). Plain data, no
database: services.install_default_library copies it into an organization's rows.
"""

from __future__ import annotations

from typing import TypedDict


class Intervention(TypedDict):
    modality: str
    description: str
    frequency: str


class Entry(TypedDict):
    category: str
    title: str
    statement: str
    dimensions: str
    own_words_example: str
    clinical: str
    objectives: list[tuple[str, int]]  # (text, target weeks)
    interventions: list[Intervention]


DEFAULT_LIBRARY: list[Entry] = [
    {
        "category": "substance_use",
        "title": "Continued alcohol or drug use",
        "statement": "Continued use of alcohol or drugs despite harm to health, work and "
        "relationships.",
        "dimensions": "5",
        "own_words_example": "I want to stop drinking and stay sober.",
        "clinical": "Achieve and maintain abstinence from alcohol and non-prescribed drugs.",
        "objectives": [
            ("Attend at least 3 IOP service days (3 hours each) every week.", 4),
            ("Provide negative drug tests at every weekly collection for 4 weeks in a row.", 6),
            ("Name 5 personal triggers and one coping skill for each.", 3),
        ],
        "interventions": [
            {
                "modality": "group",
                "description": "Early-recovery skills and relapse-prevention groups.",
                "frequency": "3 times a week",
            },
            {
                "modality": "drug_testing",
                "description": "Observed urine or oral-fluid test, random days.",
                "frequency": "Weekly",
            },
            {
                "modality": "individual",
                "description": "Motivational interviewing and relapse-prevention planning.",
                "frequency": "Weekly",
            },
        ],
    },
    {
        "category": "substance_use",
        "title": "Relapse risk and cravings",
        "statement": "High relapse potential: cravings, few coping skills and a history of "
        "returning to use after treatment.",
        "dimensions": "5",
        "own_words_example": "I want to know what to do when the cravings hit.",
        "clinical": "Develop and use a written relapse-prevention plan.",
        "objectives": [
            ("Complete a written relapse-prevention plan with the counselor.", 2),
            ("Use a coping skill from the plan and report it in group at least twice a week.", 4),
        ],
        "interventions": [
            {
                "modality": "group",
                "description": "Relapse-prevention group (Matrix Model).",
                "frequency": "Twice a week",
            },
            {
                "modality": "psychoeducation",
                "description": "Triggers, cravings and the relapse process.",
                "frequency": "Weekly",
            },
        ],
    },
    {
        "category": "substance_use",
        "title": "Building a recovery support network",
        "statement": "Few sober supports; most friends still use.",
        "dimensions": "6",
        "own_words_example": "I need people around me who don't use.",
        "clinical": "Build a sober support network through mutual-help meetings and family.",
        "objectives": [
            ("Attend the required mutual-help meetings every week and bring the signed slip.", 4),
            ("Find a sponsor or recovery mentor and talk with them weekly.", 6),
        ],
        "interventions": [
            {
                "modality": "mutual_help",
                "description": "12-step, SMART Recovery or other mutual-help meetings.",
                "frequency": "At least 2 a week",
            },
            {
                "modality": "family",
                "description": "Family session to involve supportive people.",
                "frequency": "Every 2 weeks",
            },
        ],
    },
    {
        "category": "substance_use",
        "title": "Opioid use disorder and medication",
        "statement": "Opioid use disorder; at risk of overdose.",
        "dimensions": "1,2,5",
        "own_words_example": "I don't want to overdose. I want to stay on my medication.",
        "clinical": "Stay engaged in medication for opioid use disorder and reduce overdose risk.",
        "objectives": [
            ("Take medication as prescribed, confirmed at every medication visit.", 4),
            ("Carry naloxone and show it to the counselor.", 1),
        ],
        "interventions": [
            {
                "modality": "medication",
                "description": "Buprenorphine or naltrexone management with the prescriber.",
                "frequency": "Every 2 weeks",
            },
            {
                "modality": "psychoeducation",
                "description": "Overdose prevention and naloxone training.",
                "frequency": "Once",
            },
        ],
    },
    {
        "category": "depression",
        "title": "Depressed mood",
        "statement": "Depressed mood, low energy and loss of interest (PHQ-9 in the moderate "
        "range or higher).",
        "dimensions": "3",
        "own_words_example": "I want to feel like myself again and enjoy things.",
        "clinical": "Reduce depressive symptoms to the mild range or below.",
        "objectives": [
            ("PHQ-9 total drops by at least half from the baseline.", 8),
            ("Schedule and do one enjoyable or meaningful activity every day.", 4),
        ],
        "interventions": [
            {
                "modality": "individual",
                "description": "CBT for depression: behavioral activation, thought records.",
                "frequency": "Weekly",
            },
            {
                "modality": "medication",
                "description": "Psychiatric evaluation and medication management.",
                "frequency": "Monthly",
            },
        ],
    },
    {
        "category": "anxiety",
        "title": "Anxiety",
        "statement": "Anxiety and worry that lead to using to cope (GAD-7 in the moderate "
        "range or higher).",
        "dimensions": "3",
        "own_words_example": "I want to calm down without a drink.",
        "clinical": "Manage anxiety with skills instead of substances.",
        "objectives": [
            ("Practise a breathing or grounding skill daily and log it.", 3),
            ("GAD-7 total falls below 10.", 8),
        ],
        "interventions": [
            {
                "modality": "group",
                "description": "CBT/DBT skills group: distress tolerance and emotion regulation.",
                "frequency": "Twice a week",
            },
            {
                "modality": "individual",
                "description": "CBT for anxiety.",
                "frequency": "Weekly",
            },
        ],
    },
    {
        "category": "trauma",
        "title": "Trauma-related symptoms",
        "statement": "Trauma history with intrusive memories and avoidance that trigger use.",
        "dimensions": "3,5",
        "own_words_example": "I want the memories to stop running my life.",
        "clinical": "Build safety and coping skills for trauma symptoms (Seeking Safety).",
        "objectives": [
            ("Name 3 trauma triggers and a safe coping response for each.", 4),
            ("Attend the survivors' group weekly if the patient opts in.", 8),
        ],
        "interventions": [
            {
                "modality": "individual",
                "description": "Trauma-informed therapy (Seeking Safety).",
                "frequency": "Weekly",
            },
            {
                "modality": "group",
                "description": "Survivors' group (opt-in).",
                "frequency": "Weekly",
            },
        ],
    },
    {
        "category": "environment",
        "title": "Housing, work and daily life",
        "statement": "Unstable housing, work or school make recovery harder.",
        "dimensions": "6",
        "own_words_example": "I need a safe place to live and to keep my job.",
        "clinical": "Stabilize housing and keep work or school while in treatment.",
        "objectives": [
            ("Meet with the case manager and complete a housing or work plan.", 2),
            ("Keep the IOP schedule around work hours on the chosen track.", 4),
        ],
        "interventions": [
            {
                "modality": "case_management",
                "description": "Housing, work, benefits and legal referrals.",
                "frequency": "Every 2 weeks",
            },
        ],
    },
]
