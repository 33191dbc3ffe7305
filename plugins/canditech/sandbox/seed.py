"""Seed assessments of the Canditech sandbox.

Contract: ``seed_assessments()`` returns a fresh list of assessment dicts, in listing order:
``{"id", "name", "duration_minutes", "max_score": 100, "questions": [{"id": "q<n>", "text",
"options": [{"id", "text"}], "correct": <option id>}]}``. Ids are stable (``asmt-python``,
``asmt-data``, ``asmt-support``, ``asmt-sql``) so tests and demos can refer to them; the
correct answers are public here on purpose (tests compute expected scores from them).
"""

from __future__ import annotations


def _q(n: int, text: str, options: list[str], correct: str) -> dict:
    letters = "abcdefgh"
    return {
        "id": f"q{n}",
        "text": text,
        "options": [{"id": letters[i], "text": t} for i, t in enumerate(options)],
        "correct": correct,
    }


def seed_assessments() -> list[dict]:
    """A fresh copy of the seeded assessments (callers may mutate it)."""
    return [
        {
            "id": "asmt-python",
            "name": "Python Developer",
            "duration_minutes": 45,
            "max_score": 100,
            "questions": [
                _q(1, "What does len([1, 2, 3]) return?", ["2", "3", "4"], "b"),
                _q(2, "Which keyword defines a function?", ["func", "def", "lambda", "fn"], "b"),
                _q(3, "Which type is immutable?", ["list", "dict", "tuple", "set"], "c"),
                _q(4, "What is 7 // 2?", ["3", "3.5", "4"], "a"),
            ],
        },
        {
            "id": "asmt-data",
            "name": "Data Analysis",
            "duration_minutes": 30,
            "max_score": 100,
            "questions": [
                _q(1, "The median of 1, 3, 9 is", ["3", "4.33", "9"], "a"),
                _q(2, "Which chart suits a trend over time?", ["Pie", "Line", "Radar"], "b"),
                _q(3, "A p-value below 0.05 usually means", [
                    "The result is significant at the 5% level",
                    "The hypothesis is proven",
                    "The data is wrong",
                ], "a"),
            ],
        },
        {
            "id": "asmt-support",
            "name": "Customer Support",
            "duration_minutes": 20,
            "max_score": 100,
            "questions": [
                _q(1, "A customer is angry. First you", [
                    "Acknowledge their frustration",
                    "Quote the policy",
                    "Transfer the call",
                ], "a"),
                _q(2, "A ticket you cannot solve should be", [
                    "Closed", "Escalated with context", "Left open silently",
                ], "b"),
                _q(3, "What does SLA stand for?", [
                    "Service Level Agreement", "Support Line Access", "System Log Archive",
                ], "a"),
                _q(4, "Best channel for a long how-to answer?", [
                    "Phone", "Email with steps", "SMS",
                ], "b"),
                _q(5, "Closing a conversation, you should", [
                    "Confirm the issue is solved", "Hang up", "Ask for a discount code",
                ], "a"),
            ],
        },
        {
            "id": "asmt-sql",
            "name": "SQL Basics",
            "duration_minutes": 25,
            "max_score": 100,
            "questions": [
                _q(1, "Which clause filters groups?", ["WHERE", "HAVING", "ORDER BY"], "b"),
                _q(2, "Which join keeps all rows of the left table?", [
                    "INNER JOIN", "LEFT JOIN", "CROSS JOIN",
                ], "b"),
                _q(3, "COUNT(*) counts", ["Rows", "Non-null values", "Distinct values"], "a"),
            ],
        },
    ]
