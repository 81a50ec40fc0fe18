"""Knowledge base, satisfaction surveys and a customer's service history on a SQLite file.

    python examples/knowledge_base.py [--url sqlite:///kb-demo.db]

Publishes a small bilingual knowledge base, searches it in Chinese and
English (ranked in SQLite FTS5), suggests articles for a new ticket, runs a
few tickets through resolution and NPS surveys, prints the NPS per agent and
pages through one customer's timeline. Uses a temporary file unless
``--url`` says otherwise (``memory://`` works too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path

import crmcore
from crmcore.model import Activity, ActivityType, Customer, Order, SurveyKind, Ticket
from crmcore.services import (
    article_versions,
    create_article,
    edit_article,
    publish_article,
    record_survey_answer,
    request_survey,
    satisfaction_report,
    search_articles,
    service_history,
    submit_article,
    suggest_articles,
    transition,
)

ARTICLES = [
    ("申请退款流程", "订单签收后七天内可以在订单详情页申请退款，退款原路返回。", "zh-CN"),
    ("退货退换政策", "商品未拆封可在十五天内退货或换货，运费由平台承担。", "zh-CN"),
    ("重置登录密码", "忘记密码时点击“忘记密码”，通过短信验证码重置。", "zh-CN"),
    ("开具电子发票", "在订单详情页申请开具增值税电子发票。", "zh-CN"),
    (
        "How to request a refund",
        "Refunds go back to the original payment method within 7 days.",
        "en",
    ),
    ("Resetting your password", "Forgot your password? Reset it with the code we text you.", "en"),
    ("Getting an invoice", "Invoices can be downloaded from the order page as PDF.", "en"),
    ("Shipping times", "Standard delivery takes three to five business days.", "en"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(args.url or f"sqlite:///{Path(tmp) / 'kb-demo.db'}")


def run(url: str) -> None:
    crm = crmcore.connect(url)
    with crm.session() as s:
        for title, body, language in ARTICLES:
            publish_article(s, submit_article(s, create_article(s, title, body, language=language)))

    print("== search")
    with crm.session() as s:
        for query in ["退款", "密码", "refunds", "reset password", "订单 -发票", "退"]:
            hits = search_articles(s, query, limit=3)
            shown = ", ".join(f"{m.article.title} ({m.score:.2f})" for m in hits) or "-"
            print(f"  {query!r:18} -> {shown}")

    with crm.session() as s:
        refund = search_articles(s, "退款流程", limit=1)[0].article
        edit_article(s, refund, body="订单签收后十五天内可以申请退款。")
        versions = article_versions(s, refund.id)
        print(
            f"== versions of {refund.title!r}: "
            + "; ".join(f"v{v.number}: {v.body}" for v in versions)
        )

    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
    with crm.session() as s:
        customer = s.customers.add(Customer(first_name="伟", last_name="张", phone="138 0013 8000"))
        s.orders.add(Order(customer_id=customer.id, number="SO-1001", ordered_at=start))
        ticket = s.tickets.add(
            Ticket(subject="退款还没到账", description="申请退款三天了", customer_id=customer.id)
        )
        print(
            "== suggested for the ticket:", [m.article.title for m in suggest_articles(s, ticket)]
        )
        s.activities.add(
            Activity(
                type=ActivityType.CALL,
                subject="回电说明退款进度",
                customer_id=customer.id,
                done_at=start + dt.timedelta(days=1),
            )
        )
        scores = {"li": [10, 9, 6], "wang": [8, 3]}
        for agent, answers in scores.items():
            for score in answers:
                t = s.tickets.add(
                    Ticket(subject="售后", customer_id=customer.id, assignee_id=agent)
                )
                t = transition(s, transition(s, t, "open"), "resolve")
                invitation = request_survey(s, t, SurveyKind.NPS)
                record_survey_answer(s, invitation.request.id, score)

    with crm.session() as s:
        print("== NPS per agent")
        for row in satisfaction_report(s, "nps", by="agent"):
            print(f"  {row.key['agent']:5} responses {row.responses}  NPS {row.nps:+.0f}")
        print("== service history (pages of 5, newest first)")
        cursor = None
        page_no = 1
        while True:
            page = service_history(s, customer.id, limit=5, cursor=cursor)
            for e in page:
                print(f"  p{page_no} {e.at:%Y-%m-%d %H:%M} {e.kind:18} {e.summary}")
            if page.next_cursor is None:
                break
            cursor, page_no = page.next_cursor, page_no + 1
    crm.close()


if __name__ == "__main__":
    main()
