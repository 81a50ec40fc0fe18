"""A generated bilingual knowledge base and labelled queries (tests and the benchmark share it)."""

from __future__ import annotations

import random

#: (topic id, Chinese title words, Chinese body sentences, English title, English body)
TOPICS: list[tuple[str, str, str, str, str]] = [
    (
        "refund",
        "申请退款流程",
        "订单签收后七天内可以申请退款，退款原路返回。",
        "How to request a refund",
        "Refunds are paid back to the original payment method within seven days.",
    ),
    (
        "password",
        "重置登录密码",
        "忘记密码时点击忘记密码，通过短信验证码重置密码。",
        "Resetting your password",
        "If you forgot your password, reset it with the code we text you.",
    ),
    (
        "invoice",
        "开具电子发票",
        "在订单详情页申请开具增值税电子发票。",
        "Getting an invoice",
        "Invoices can be downloaded from the order page as PDF.",
    ),
    (
        "shipping",
        "物流配送时间",
        "普通快递三到五天送达，偏远地区时间更长。",
        "Shipping times",
        "Standard delivery takes three to five business days.",
    ),
    (
        "account",
        "账户被锁定怎么办",
        "多次输错密码后账户会被锁定，三十分钟后自动解锁。",
        "Locked account",
        "After several failed logins the account locks for thirty minutes.",
    ),
    (
        "return",
        "退货退换政策",
        "商品未拆封可在十五天内退货或换货。",
        "Returns and exchanges",
        "Unopened items can be returned or exchanged within fifteen days.",
    ),
    (
        "coupon",
        "优惠券使用规则",
        "优惠券不可叠加使用，过期自动失效。",
        "Using coupons",
        "Coupons cannot be combined and expire automatically.",
    ),
    (
        "member",
        "会员积分兑换",
        "会员积分可以兑换礼品或抵扣现金。",
        "Member points",
        "Members redeem points for gifts or cash discounts.",
    ),
    (
        "payment",
        "支付方式说明",
        "支持微信支付、支付宝和银行卡付款。",
        "Payment methods",
        "We accept WeChat Pay, Alipay and bank cards.",
    ),
    (
        "address",
        "修改收货地址",
        "订单发货前可以在订单页面修改收货地址。",
        "Changing the delivery address",
        "You can change the shipping address before the order ships.",
    ),
    (
        "cancel",
        "取消订单",
        "未发货的订单可以直接取消，款项自动退回。",
        "Cancelling an order",
        "Orders that have not shipped can be cancelled for a full refund.",
    ),
    (
        "warranty",
        "保修服务条款",
        "电子产品提供一年保修，人为损坏不在保修范围。",
        "Warranty terms",
        "Electronics carry a one-year warranty that excludes accidental damage.",
    ),
]

_FILLER_ZH = "客服中心为您提供帮助，如有疑问请联系在线客服。我们会尽快处理您的问题。"
_FILLER_EN = (
    "Our support team is happy to help; contact us through live chat if anything is unclear."
)

#: (query, topic it is about): what a customer would type
QUERIES: list[tuple[str, str]] = [
    ("退款", "refund"),
    ("申请退款", "refund"),
    ("refunds", "refund"),
    ("money back refund", "refund"),
    ("密码", "password"),
    ("忘记密码", "password"),
    ("reset password", "password"),
    ("forgot my password", "password"),
    ("发票", "invoice"),
    ("电子发票", "invoice"),
    ("invoice pdf", "invoice"),
    ("物流", "shipping"),
    ("配送时间", "shipping"),
    ("delivery days", "shipping"),
    ("账户锁定", "account"),
    ("locked account", "account"),
    ("failed logins", "account"),
    ("退货", "return"),
    ("换货", "return"),
    ("returns exchange", "return"),
    ("优惠券", "coupon"),
    ("coupons combined", "coupon"),
    ("积分", "member"),
    ("兑换礼品", "member"),
    ("member points", "member"),
    ("微信支付", "payment"),
    ("alipay", "payment"),
    ("payment methods", "payment"),
    ("收货地址", "address"),
    ("change address", "address"),
    ("取消订单", "cancel"),
    ("cancelled order", "cancel"),
    ("保修", "warranty"),
    ("warranty damage", "warranty"),
]


def generate(n: int, seed: int = 7) -> list[tuple[str, str, str, str]]:
    """``n`` articles ``(topic, title, body, language)``: topics in both languages, then variants.

    The first ``2 * len(TOPICS)`` articles are the canonical ones (the labelled
    answers); the rest are noisy variants mixing a topic with filler and words
    of other topics, so ranking has something to get wrong.
    """
    rng = random.Random(seed)
    out: list[tuple[str, str, str, str]] = []
    for topic, zt, zb, et, eb in TOPICS:
        out.append((topic, zt, zb, "zh-CN"))
        out.append((topic, et, eb, "en"))
    i = 0
    while len(out) < n:
        topic, zt, zb, et, eb = TOPICS[i % len(TOPICS)]
        other = TOPICS[rng.randrange(len(TOPICS))]
        if rng.random() < 0.5:
            title = f"{other[1]}常见问题{i}"
            body = f"{_FILLER_ZH}{other[2]}{_FILLER_ZH * rng.randint(1, 3)}"
            out.append((other[0], title, body, "zh-CN"))
        else:
            title = f"{other[3]} FAQ {i}"
            body = f"{_FILLER_EN} {other[4]} {_FILLER_EN * rng.randint(1, 3)}"
            out.append((other[0], title, body, "en"))
        i += 1
    return out[:n]
