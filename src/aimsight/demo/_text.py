"""Support ticket text: templates per intent, wrapped in phrases that carry the sentiment.

The intent is set by the body template and the sentiment by the opening and closing phrases,
so the labels are consistent with the text and a classifier can learn both. Slots and
optional sentences vary the wording so no two tickets need to be identical.
"""

from __future__ import annotations

__all__ = ["INTENTS", "SENTIMENTS", "render_ticket"]

INTENTS = ("billing", "cancel", "technical", "account", "feature_request")
SENTIMENTS = ("negative", "neutral", "positive")

_SUBJECTS: dict[str, tuple[str, ...]] = {
    "billing": (
        "Question about my invoice",
        "Charged twice this month",
        "Refund request",
        "Wrong amount on my bill",
        "Payment failed",
    ),
    "cancel": (
        "Cancel my subscription",
        "Please close my account",
        "Stop my plan",
        "Cancellation",
        "I want to unsubscribe from the {plan} plan",
    ),
    "technical": (
        "App keeps crashing",
        "Cannot log in",
        "Error when streaming",
        "Website not loading",
        "Sync problem on {device}",
    ),
    "account": (
        "Change my e-mail address",
        "Update my address",
        "Reset password",
        "Update payment details",
        "Two accounts with the same name",
    ),
    "feature_request": (
        "Feature suggestion",
        "Idea: {feature}",
        "Could you add {feature}?",
        "Request for {feature}",
        "Wish list",
    ),
}
_BODIES: dict[str, tuple[str, ...]] = {
    "billing": (
        "I was charged {amount} on {month} but my {plan} plan should cost less.",
        "My card was charged twice for {month}. Please refund the duplicate payment.",
        "The invoice for {month} shows {amount}, which I do not recognise.",
        "My payment for {month} failed although my card is valid. Can you retry the charge?",
        "Could you explain the extra fee of {amount} on my last bill?",
    ),
    "cancel": (
        "I would like to cancel my {plan} subscription at the end of this billing period.",
        "Please cancel my membership and stop all future payments.",
        "I want to end my subscription. I no longer use the service.",
        "How do I cancel? I am switching to another provider next month.",
        "Please close my account and confirm the cancellation by e-mail.",
    ),
    "technical": (
        "The app on my {device} crashes every time I open it since the last update.",
        "I cannot log in: the page says my password is wrong but the reset link never arrives.",
        "Videos stop buffering after a few minutes on my {device}.",
        "The website shows an error 500 when I open my library.",
        "My downloads do not sync between my {device} and the website.",
    ),
    "account": (
        "Please change the e-mail address on my account to my new one.",
        "I moved house; please update my postal address.",
        "I need to reset my password and update my security question.",
        "How can I update the card details on my account?",
        "I seem to have two accounts. Can you merge them into one?",
    ),
    "feature_request": (
        "It would be great if you added {feature}.",
        "Do you plan to support {feature}? I would use it every day.",
        "A suggestion: {feature} would make the service much better for families.",
        "Please consider adding {feature} to the {plan} plan.",
        "I would love to see {feature} in a future release.",
    ),
}
_OPENINGS: dict[str, tuple[str, ...]] = {
    "negative": (
        "This is unacceptable.",
        "I am really frustrated.",
        "This is the third time I am writing and nobody has helped me.",
        "Very disappointed with your service.",
        "I am angry about this.",
    ),
    "neutral": ("Hello,", "Hi,", "Good morning,", "Dear support team,", ""),
    "positive": (
        "Hi, I love your service!",
        "Hello and thanks for the great product.",
        "Your team has always been so helpful.",
        "Big fan of the app, thank you!",
        "Hope you are well, and thanks for the excellent support so far.",
    ),
}
_CLOSINGS: dict[str, tuple[str, ...]] = {
    "negative": (
        "Fix this now or I will leave.",
        "Terrible experience so far.",
        "I expect a refund and an apology.",
        "Worst customer service I have ever had.",
        "Awful. Please sort it out today.",
    ),
    "neutral": ("Thanks.", "Regards.", "Best regards.", "Kind regards.", ""),
    "positive": (
        "Thanks a lot, you are great!",
        "Many thanks, wonderful service as always.",
        "Keep up the great work!",
        "Really appreciate your help, thank you!",
        "Thanks so much, I am very happy with you.",
    ),
}
_EXTRAS = (
    "",
    "",
    "My customer number is in my profile.",
    "I am writing from my phone.",
    "Please reply by e-mail.",
)
_DEVICES = ("iPhone", "Android phone", "iPad", "smart TV", "laptop", "Chromebook")
_FEATURES = (
    "offline downloads",
    "a family plan",
    "dark mode",
    "shared playlists",
    "subtitles in more languages",
    "a yearly payment option",
)
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September")
_PLANS = ("basic", "standard", "premium")


def render_ticket(intent: int, sentiment: int, picks: tuple[int, ...]) -> tuple[str, str]:
    """Subject and body for an intent and sentiment (indices into the label tuples).

    ``picks`` are seven non-negative random integers choosing the template of each part.
    """
    key, mood = INTENTS[intent], SENTIMENTS[sentiment]
    a, b, c, d, e, f, g = picks
    slots = {
        "plan": _PLANS[f % 3],
        "device": _DEVICES[g % len(_DEVICES)],
        "feature": _FEATURES[(f + g) % len(_FEATURES)],
        "month": _MONTHS[g % len(_MONTHS)],
        "amount": f"{9 + f % 40}.{g % 100:02d}",
    }
    subject = _SUBJECTS[key][a % 5].format(**slots)
    parts = [
        _OPENINGS[mood][b % 5],
        _BODIES[key][c % 5].format(**slots),
        _EXTRAS[e % len(_EXTRAS)],
        _CLOSINGS[mood][d % 5],
    ]
    body = " ".join(part for part in parts if part)
    if e % 7 == 0:
        body = body.lower()
    return subject, body
