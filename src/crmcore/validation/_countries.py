"""Reference data: ISO 3166-1 countries, common aliases, Chinese provinces, US states.

The tables are plain strings parsed on first use (no work at import time).
"""

from __future__ import annotations

import functools
import re

from crmcore.validation._common import strip_accents

__all__ = [
    "cn_province_codes",
    "cn_provinces",
    "country_aliases",
    "country_key",
    "country_names",
    "region_key",
    "us_states",
]

# alpha-2, alpha-3, English short name (ISO 3166-1, 249 entries).
_ISO_3166 = """
AD AND Andorra
AE ARE United Arab Emirates
AF AFG Afghanistan
AG ATG Antigua and Barbuda
AI AIA Anguilla
AL ALB Albania
AM ARM Armenia
AO AGO Angola
AQ ATA Antarctica
AR ARG Argentina
AS ASM American Samoa
AT AUT Austria
AU AUS Australia
AW ABW Aruba
AX ALA Åland Islands
AZ AZE Azerbaijan
BA BIH Bosnia and Herzegovina
BB BRB Barbados
BD BGD Bangladesh
BE BEL Belgium
BF BFA Burkina Faso
BG BGR Bulgaria
BH BHR Bahrain
BI BDI Burundi
BJ BEN Benin
BL BLM Saint Barthélemy
BM BMU Bermuda
BN BRN Brunei Darussalam
BO BOL Bolivia
BQ BES Bonaire, Sint Eustatius and Saba
BR BRA Brazil
BS BHS Bahamas
BT BTN Bhutan
BV BVT Bouvet Island
BW BWA Botswana
BY BLR Belarus
BZ BLZ Belize
CA CAN Canada
CC CCK Cocos (Keeling) Islands
CD COD Congo, Democratic Republic of the
CF CAF Central African Republic
CG COG Congo
CH CHE Switzerland
CI CIV Côte d'Ivoire
CK COK Cook Islands
CL CHL Chile
CM CMR Cameroon
CN CHN China
CO COL Colombia
CR CRI Costa Rica
CU CUB Cuba
CV CPV Cabo Verde
CW CUW Curaçao
CX CXR Christmas Island
CY CYP Cyprus
CZ CZE Czechia
DE DEU Germany
DJ DJI Djibouti
DK DNK Denmark
DM DMA Dominica
DO DOM Dominican Republic
DZ DZA Algeria
EC ECU Ecuador
EE EST Estonia
EG EGY Egypt
EH ESH Western Sahara
ER ERI Eritrea
ES ESP Spain
ET ETH Ethiopia
FI FIN Finland
FJ FJI Fiji
FK FLK Falkland Islands (Malvinas)
FM FSM Micronesia, Federated States of
FO FRO Faroe Islands
FR FRA France
GA GAB Gabon
GB GBR United Kingdom of Great Britain and Northern Ireland
GD GRD Grenada
GE GEO Georgia
GF GUF French Guiana
GG GGY Guernsey
GH GHA Ghana
GI GIB Gibraltar
GL GRL Greenland
GM GMB Gambia
GN GIN Guinea
GP GLP Guadeloupe
GQ GNQ Equatorial Guinea
GR GRC Greece
GS SGS South Georgia and the South Sandwich Islands
GT GTM Guatemala
GU GUM Guam
GW GNB Guinea-Bissau
GY GUY Guyana
HK HKG Hong Kong
HM HMD Heard Island and McDonald Islands
HN HND Honduras
HR HRV Croatia
HT HTI Haiti
HU HUN Hungary
ID IDN Indonesia
IE IRL Ireland
IL ISR Israel
IM IMN Isle of Man
IN IND India
IO IOT British Indian Ocean Territory
IQ IRQ Iraq
IR IRN Iran, Islamic Republic of
IS ISL Iceland
IT ITA Italy
JE JEY Jersey
JM JAM Jamaica
JO JOR Jordan
JP JPN Japan
KE KEN Kenya
KG KGZ Kyrgyzstan
KH KHM Cambodia
KI KIR Kiribati
KM COM Comoros
KN KNA Saint Kitts and Nevis
KP PRK Korea, Democratic People's Republic of
KR KOR Korea, Republic of
KW KWT Kuwait
KY CYM Cayman Islands
KZ KAZ Kazakhstan
LA LAO Lao People's Democratic Republic
LB LBN Lebanon
LC LCA Saint Lucia
LI LIE Liechtenstein
LK LKA Sri Lanka
LR LBR Liberia
LS LSO Lesotho
LT LTU Lithuania
LU LUX Luxembourg
LV LVA Latvia
LY LBY Libya
MA MAR Morocco
MC MCO Monaco
MD MDA Moldova, Republic of
ME MNE Montenegro
MF MAF Saint Martin (French part)
MG MDG Madagascar
MH MHL Marshall Islands
MK MKD North Macedonia
ML MLI Mali
MM MMR Myanmar
MN MNG Mongolia
MO MAC Macao
MP MNP Northern Mariana Islands
MQ MTQ Martinique
MR MRT Mauritania
MS MSR Montserrat
MT MLT Malta
MU MUS Mauritius
MV MDV Maldives
MW MWI Malawi
MX MEX Mexico
MY MYS Malaysia
MZ MOZ Mozambique
NA NAM Namibia
NC NCL New Caledonia
NE NER Niger
NF NFK Norfolk Island
NG NGA Nigeria
NI NIC Nicaragua
NL NLD Netherlands
NO NOR Norway
NP NPL Nepal
NR NRU Nauru
NU NIU Niue
NZ NZL New Zealand
OM OMN Oman
PA PAN Panama
PE PER Peru
PF PYF French Polynesia
PG PNG Papua New Guinea
PH PHL Philippines
PK PAK Pakistan
PL POL Poland
PM SPM Saint Pierre and Miquelon
PN PCN Pitcairn
PR PRI Puerto Rico
PS PSE Palestine, State of
PT PRT Portugal
PW PLW Palau
PY PRY Paraguay
QA QAT Qatar
RE REU Réunion
RO ROU Romania
RS SRB Serbia
RU RUS Russian Federation
RW RWA Rwanda
SA SAU Saudi Arabia
SB SLB Solomon Islands
SC SYC Seychelles
SD SDN Sudan
SE SWE Sweden
SG SGP Singapore
SH SHN Saint Helena, Ascension and Tristan da Cunha
SI SVN Slovenia
SJ SJM Svalbard and Jan Mayen
SK SVK Slovakia
SL SLE Sierra Leone
SM SMR San Marino
SN SEN Senegal
SO SOM Somalia
SR SUR Suriname
SS SSD South Sudan
ST STP Sao Tome and Principe
SV SLV El Salvador
SX SXM Sint Maarten (Dutch part)
SY SYR Syrian Arab Republic
SZ SWZ Eswatini
TC TCA Turks and Caicos Islands
TD TCD Chad
TF ATF French Southern Territories
TG TGO Togo
TH THA Thailand
TJ TJK Tajikistan
TK TKL Tokelau
TL TLS Timor-Leste
TM TKM Turkmenistan
TN TUN Tunisia
TO TON Tonga
TR TUR Türkiye
TT TTO Trinidad and Tobago
TV TUV Tuvalu
TW TWN Taiwan
TZ TZA Tanzania, United Republic of
UA UKR Ukraine
UG UGA Uganda
UM UMI United States Minor Outlying Islands
US USA United States of America
UY URY Uruguay
UZ UZB Uzbekistan
VA VAT Holy See
VC VCT Saint Vincent and the Grenadines
VE VEN Venezuela, Bolivarian Republic of
VG VGB Virgin Islands (British)
VI VIR Virgin Islands (U.S.)
VN VNM Viet Nam
VU VUT Vanuatu
WF WLF Wallis and Futuna
WS WSM Samoa
YE YEM Yemen
YT MYT Mayotte
ZA ZAF South Africa
ZM ZMB Zambia
ZW ZWE Zimbabwe
"""

# alias | alpha-2 (English variants, endonyms, Chinese and Japanese names).
_ALIASES = """
UK|GB
Great Britain|GB
Britain|GB
United Kingdom|GB
England|GB
Scotland|GB
Wales|GB
Northern Ireland|GB
US|US
U.S.|US
U.S.A.|US
United States|US
America|US
PRC|CN
People's Republic of China|CN
Mainland China|CN
China Mainland|CN
P.R. China|CN
Zhongguo|CN
Deutschland|DE
BRD|DE
Federal Republic of Germany|DE
Nippon|JP
Nihon|JP
Russia|RU
Rossiya|RU
South Korea|KR
Korea|KR
Republic of Korea|KR
North Korea|KP
DPRK|KP
Taiwan, Province of China|TW
Hongkong|HK
Hong Kong SAR|HK
Hong Kong SAR China|HK
Macau|MO
Macao SAR|MO
Macau SAR|MO
Vietnam|VN
Laos|LA
Iran|IR
Syria|SY
Bolivia, Plurinational State of|BO
Venezuela|VE
Tanzania|TZ
Moldova|MD
Micronesia|FM
Brunei|BN
Ivory Coast|CI
Cote d'Ivoire|CI
Czech Republic|CZ
Macedonia|MK
Swaziland|SZ
Cape Verde|CV
East Timor|TL
Vatican|VA
Vatican City|VA
Holy See (Vatican City State)|VA
Burma|MM
Turkey|TR
Turkiye|TR
Holland|NL
The Netherlands|NL
Nederland|NL
Espana|ES
España|ES
Italia|IT
Polska|PL
Brasil|BR
Mexico|MX
México|MX
Osterreich|AT
Österreich|AT
Schweiz|CH
Suisse|CH
Svizzera|CH
Sverige|SE
Norge|NO
Danmark|DK
Suomi|FI
Eire|IE
Éire|IE
Hellas|GR
Ellada|GR
DR Congo|CD
DRC|CD
Congo-Kinshasa|CD
Democratic Republic of the Congo|CD
Congo-Brazzaville|CG
Republic of the Congo|CG
Palestine|PS
UAE|AE
Emirates|AE
KSA|SA
Kosovo|XK
Россия|RU
Україна|UA
대한민국|KR
한국|KR
中国|CN
中華人民共和國|CN
中华人民共和国|CN
中国大陆|CN
中國|CN
大陆|CN
日本|JP
美国|US
美國|US
英国|GB
英國|GB
德国|DE
德國|DE
法国|FR
法國|FR
韩国|KR
韓國|KR
南韩|KR
朝鲜|KP
俄罗斯|RU
俄羅斯|RU
香港|HK
中国香港|HK
澳门|MO
澳門|MO
中国澳门|MO
台湾|TW
台灣|TW
臺灣|TW
中国台湾|TW
新加坡|SG
马来西亚|MY
馬來西亞|MY
泰国|TH
越南|VN
印度|IN
印度尼西亚|ID
印尼|ID
菲律宾|PH
澳大利亚|AU
澳洲|AU
新西兰|NZ
加拿大|CA
墨西哥|MX
巴西|BR
阿根廷|AR
智利|CL
秘鲁|PE
哥伦比亚|CO
意大利|IT
西班牙|ES
葡萄牙|PT
荷兰|NL
比利时|BE
瑞士|CH
瑞典|SE
挪威|NO
丹麦|DK
芬兰|FI
爱尔兰|IE
奥地利|AT
波兰|PL
捷克|CZ
匈牙利|HU
罗马尼亚|RO
希腊|GR
乌克兰|UA
土耳其|TR
以色列|IL
沙特阿拉伯|SA
沙特|SA
阿联酋|AE
阿拉伯联合酋长国|AE
卡塔尔|QA
科威特|KW
伊朗|IR
伊拉克|IQ
埃及|EG
南非|ZA
尼日利亚|NG
肯尼亚|KE
巴基斯坦|PK
孟加拉国|BD
斯里兰卡|LK
尼泊尔|NP
缅甸|MM
柬埔寨|KH
老挝|LA
蒙古|MN
蒙古国|MN
哈萨克斯坦|KZ
"""

# GB/T 2260 code | standard name | short name | pinyin | other accepted spellings (;)
_CN_PROVINCES = """
11|北京市|北京|Beijing|BJ;Peking
12|天津市|天津|Tianjin|TJ
13|河北省|河北|Hebei|HE
14|山西省|山西|Shanxi|SX
15|内蒙古自治区|内蒙古|Nei Menggu|NM;Inner Mongolia;Nei Mongol;內蒙古
21|辽宁省|辽宁|Liaoning|LN;遼寧
22|吉林省|吉林|Jilin|JL
23|黑龙江省|黑龙江|Heilongjiang|HL;黑龍江
31|上海市|上海|Shanghai|SH
32|江苏省|江苏|Jiangsu|JS;江蘇
33|浙江省|浙江|Zhejiang|ZJ
34|安徽省|安徽|Anhui|AH
35|福建省|福建|Fujian|FJ
36|江西省|江西|Jiangxi|JX
37|山东省|山东|Shandong|SD;山東
41|河南省|河南|Henan|HA
42|湖北省|湖北|Hubei|HB
43|湖南省|湖南|Hunan|HN
44|广东省|广东|Guangdong|GD;廣東;Canton
45|广西壮族自治区|广西|Guangxi|GX;廣西;广西自治区;Guangxi Zhuang
46|海南省|海南|Hainan|HI
50|重庆市|重庆|Chongqing|CQ;重慶
51|四川省|四川|Sichuan|SC
52|贵州省|贵州|Guizhou|GZ;貴州
53|云南省|云南|Yunnan|YN;雲南
54|西藏自治区|西藏|Xizang|XZ;Tibet
61|陕西省|陕西|Shaanxi|SN;陝西
62|甘肃省|甘肃|Gansu|GS;甘肅
63|青海省|青海|Qinghai|QH
64|宁夏回族自治区|宁夏|Ningxia|NX;寧夏;宁夏自治区;Ningxia Hui
65|新疆维吾尔自治区|新疆|Xinjiang|XJ;新疆自治区;Xinjiang Uygur;Xinjiang Uyghur
71|台湾省|台湾|Taiwan|TW;台灣;臺灣
81|香港特别行政区|香港|Xianggang|HK;Hong Kong;香港特別行政區
82|澳门特别行政区|澳门|Aomen|MO;Macao;Macau;澳門;澳門特別行政區
"""

# USPS code | name (states, DC and territories).
_US_STATES = """
AL|Alabama
AK|Alaska
AZ|Arizona
AR|Arkansas
CA|California
CO|Colorado
CT|Connecticut
DE|Delaware
FL|Florida
GA|Georgia
HI|Hawaii
ID|Idaho
IL|Illinois
IN|Indiana
IA|Iowa
KS|Kansas
KY|Kentucky
LA|Louisiana
ME|Maine
MD|Maryland
MA|Massachusetts
MI|Michigan
MN|Minnesota
MS|Mississippi
MO|Missouri
MT|Montana
NE|Nebraska
NV|Nevada
NH|New Hampshire
NJ|New Jersey
NM|New Mexico
NY|New York
NC|North Carolina
ND|North Dakota
OH|Ohio
OK|Oklahoma
OR|Oregon
PA|Pennsylvania
RI|Rhode Island
SC|South Carolina
SD|South Dakota
TN|Tennessee
TX|Texas
UT|Utah
VT|Vermont
VA|Virginia
WA|Washington
WV|West Virginia
WI|Wisconsin
WY|Wyoming
DC|District of Columbia
PR|Puerto Rico
GU|Guam
VI|U.S. Virgin Islands
AS|American Samoa
MP|Northern Mariana Islands
"""

_PUNCT_RE = re.compile(r"[^\w]+")
_SUFFIX_RE = re.compile(
    r"(?:\s+(?:special administrative region|autonomous region|province|municipality|"
    r"zizhiqu|sheng|shi|sar|city|region|autonomous|zhuang|hui|uyg(?:h)?ur))+$"
)
_CN_SUFFIX_RE = re.compile(
    r"(?:特别行政区|特別行政區|壮族自治区|回族自治区|维吾尔自治区|自治区|省|市)$"
)


def country_key(text: str) -> str:
    """Loose key for country names: no accents, case or punctuation, no "the"."""
    key = strip_accents(text).casefold().replace("&", " and ")
    key = _PUNCT_RE.sub(" ", key).strip()
    key = key.removeprefix("the ")
    return key.replace(" ", "")


@functools.cache
def country_names() -> dict[str, tuple[str, str]]:
    """alpha-2 -> (alpha-3, English short name)."""
    table: dict[str, tuple[str, str]] = {}
    for line in _ISO_3166.strip().splitlines():
        a2, a3, name = line.split(" ", 2)
        table[a2] = (a3, name)
    return table


@functools.cache
def country_aliases() -> dict[str, str]:
    """Loose key (see :func:`country_key`) of every name, code and alias -> alpha-2."""
    lookup: dict[str, str] = {}
    for a2, (_a3, name) in country_names().items():
        lookup[country_key(name)] = a2
        # "Korea, Republic of" also as "Republic of Korea"
        if ", " in name:
            head, _, tail = name.partition(", ")
            lookup[country_key(f"{tail} {head}")] = a2
            lookup.setdefault(country_key(head), a2)
    for line in _ALIASES.strip().splitlines():
        alias, _, a2 = line.rpartition("|")
        lookup[country_key(alias)] = a2
    for a2, (a3, _name) in country_names().items():
        lookup[a2.lower()] = a2
        lookup[a3.lower()] = a2
    lookup["xk"] = "XK"
    lookup["xkx"] = "XK"
    return lookup


def region_key(text: str) -> str:
    """Loose key for province/state names (pinyin or English), suffixes dropped."""
    key = strip_accents(text).casefold()
    key = _CN_SUFFIX_RE.sub("", key)
    key = _PUNCT_RE.sub(" ", key).strip()
    key = _SUFFIX_RE.sub("", key).strip()
    return key.replace(" ", "")


@functools.cache
def cn_provinces() -> dict[str, str]:
    """Loose key of every accepted spelling of a CN provincial division -> standard name."""
    lookup: dict[str, str] = {}
    for line in _CN_PROVINCES.strip().splitlines():
        code, standard, short, pinyin, others = line.split("|")
        for spelling in (standard, short, pinyin, f"CN-{others.split(';')[0]}", code):
            lookup[region_key(spelling)] = standard
        for spelling in others.split(";"):
            lookup[region_key(spelling)] = standard
        lookup[standard] = standard
    return lookup


@functools.cache
def cn_province_codes() -> dict[str, str]:
    """GB/T 2260 two-digit province code -> standard name."""
    codes: dict[str, str] = {}
    for line in _CN_PROVINCES.strip().splitlines():
        code, standard, *_ = line.split("|")
        codes[code] = standard
    return codes


@functools.cache
def us_states() -> dict[str, str]:
    """Loose key of a US state name or USPS code -> USPS code."""
    lookup: dict[str, str] = {}
    for line in _US_STATES.strip().splitlines():
        code, name = line.split("|")
        lookup[region_key(name)] = code
        lookup[code.lower()] = code
    return lookup
