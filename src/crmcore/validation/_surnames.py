"""Reference data for personal names: Chinese and Korean surnames, particles.

Plain string constants, turned into sets on first use (no work at import time).
"""

from __future__ import annotations

import functools

__all__ = [
    "COMPOUND_HANGUL_SURNAMES",
    "COMPOUND_HAN_SURNAMES",
    "SINGLE_HAN_SURNAMES",
    "compound_han_surnames",
    "compound_hangul_surnames",
    "latin_particles",
    "pinyin_surnames",
    "single_han_surnames",
    "surname_pinyin_overrides",
]

#: Compound (two-character) Chinese surnames, simplified and traditional forms.
COMPOUND_HAN_SURNAMES = (
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 "
    "西门 南宫 独孤 百里 呼延 万俟 闻人 澹台 公冶 宗政 濮阳 淳于 单于 太叔 申屠 仲孙 "
    "钟离 宰父 谷梁 拓跋 第五 东郭 赫连 鲜于 左丘 闾丘 亓官 司空 司寇 巫马 公西 漆雕 "
    "乐正 壤驷 公良 梁丘 公羊 羊舌 微生 段干 东门 南门 "
    "歐陽 司馬 諸葛 東方 尉遲 公孫 長孫 軒轅 西門 南宮 獨孤 萬俟 聞人 澹臺 單于 鍾離 "
    "鮮于 閭丘 巫馬 樂正 壤駟 東郭 東門 南門 司徒 夏侯 令狐 端木 上官 皇甫 慕容 宇文"
)

#: Common single-character Chinese surnames (the ~200 most frequent).
SINGLE_HAN_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关"
    "兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻"
    "祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿"
    "桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠"
    "惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉"
    "禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修"
    "邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴"
    "昝智幸奉植衡富尧闭由"
)

# Surnames whose reading differs from the character's most common reading.
_SURNAME_PINYIN = {
    "单": "shan",
    "曾": "zeng",
    "区": "ou",
    "仇": "qiu",
    "查": "zha",
    "朴": "piao",
    "翟": "zhai",
    "盖": "ge",
    "乐": "yue",
    "解": "xie",
    "缪": "miao",
    "覃": "qin",
    "种": "chong",
    "秘": "bi",
    "召": "shao",
    "句": "gou",
    "员": "yun",
    "繁": "po",
    "过": "guo",
    "尉迟": "yuchi",
    "万俟": "moqi",
    "长孙": "zhangsun",
    "单于": "chanyu",
    "澹台": "tantai",
    "乐正": "yuezheng",
    "尉": "yu",
    "沈": "shen",
    "柏": "bai",
    "薄": "bo",
    "都": "du",
    "宿": "su",
    "那": "na",
    "阚": "kan",
}

# Korean two-syllable surnames.
COMPOUND_HANGUL_SURNAMES = "남궁 황보 제갈 선우 독고 사공 서문 동방 어금 망절"

# Name particles written in lower case when they are not the first word.
_PARTICLES = (
    "van von der den de da di du del della delle dei degli des le la lo dos das do ten ter "
    "zu zur af av y bin binti ibn bint"
)

# Common Chinese surnames in pinyin: a name that starts with one of these is
# probably pinyin, where "de"/"da"/"di"/"le" are syllables, not particles.
_PINYIN_SURNAMES = (
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng "
    "liang xie song tang han feng deng cao peng zeng xiao tian dong yuan pan yu jiang cai du ye "
    "cheng su wei lu ding ren shen yao cui zhong tan fan jin shi liao jia xia fu fang bai zou "
    "meng xiong qin qiu yin xue yan duan lei hou long kong mao hao gong shao wan qian dai mo "
    "xiang chang wen kang niu ge xing an qi yi qiao pang ni zhuang nie yue zhai zhan ou geng "
    "guan lan jiao shu ruan ke ji mei tong ling bi shan pei huo tu miao gu sheng qu weng ran "
    "lao mu bao hua ouyang sima zhuge shangguan dongfang huangfu yuchi gongsun murong zhangsun "
    "yuwen situ xiahou xuanyuan linghu duanmu lyu lv chan wong cheung leung ng lee lau chow "
    "tsang kwok yeung ho lam chu"
)


@functools.cache
def compound_han_surnames() -> frozenset[str]:
    """The set of compound Chinese surnames."""
    return frozenset(COMPOUND_HAN_SURNAMES.split())


@functools.cache
def single_han_surnames() -> frozenset[str]:
    """The set of common single-character Chinese surnames."""
    return frozenset(SINGLE_HAN_SURNAMES)


@functools.cache
def compound_hangul_surnames() -> frozenset[str]:
    """The set of two-syllable Korean surnames."""
    return frozenset(COMPOUND_HANGUL_SURNAMES.split())


@functools.cache
def latin_particles() -> frozenset[str]:
    """Lower-case name particles (van, von, de, da...)."""
    return frozenset(_PARTICLES.split())


@functools.cache
def pinyin_surnames() -> frozenset[str]:
    """Common Chinese surnames in pinyin and Cantonese romanisation."""
    return frozenset(_PINYIN_SURNAMES.split())


def surname_pinyin_overrides() -> dict[str, str]:
    """Readings of polyphonic characters when they are surnames (单 -> shan)."""
    return _SURNAME_PINYIN
