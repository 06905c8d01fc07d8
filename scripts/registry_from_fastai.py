"""Writes datasets/registry.json from fastai's published download checks.

Usage: python3 scripts/registry_from_fastai.py PATH/TO/fastai/data/download_checks.py

download_checks.py (fastai's repository, fastai/data/) maps each address to (size, md5 of the
first 2**20 bytes), as fastdownload's path_stats computes it; the names below are fastai's URLs
(fastai/data/external.py). zip archives and model files are left out (untar_data reads .tgz).
"""
import ast, json, sys
checks = ast.literal_eval(open(sys.argv[1]).read())
S3='https://s3.amazonaws.com/fast-ai-'
URL=S3+'sample/'; IMG=S3+'imageclas/'; LOC=S3+'imagelocal/'; NLP=S3+'nlp/'; COCO=S3+'coco/'
names = [  # fastai's URLs, in its order (fastai/data/external.py)
 ('ADULT_SAMPLE',URL+'adult_sample.tgz'),('BIWI_SAMPLE',URL+'biwi_sample.tgz'),('CIFAR',URL+'cifar10.tgz'),
 ('COCO_SAMPLE',COCO+'coco_sample.tgz'),('COCO_TINY',COCO+'coco_tiny.tgz'),('HUMAN_NUMBERS',URL+'human_numbers.tgz'),
 ('IMDB',NLP+'imdb.tgz'),('IMDB_SAMPLE',URL+'imdb_sample.tgz'),('ML_SAMPLE',URL+'movie_lens_sample.tgz'),
 ('MNIST_SAMPLE',URL+'mnist_sample.tgz'),('MNIST_TINY',URL+'mnist_tiny.tgz'),('MNIST_VAR_SIZE_TINY',IMG+'mnist_var_size_tiny.tgz'),
 ('PLANET_SAMPLE',URL+'planet_sample.tgz'),('PLANET_TINY',URL+'planet_tiny.tgz'),
 ('IMAGENETTE',IMG+'imagenette2.tgz'),('IMAGENETTE_160',IMG+'imagenette2-160.tgz'),('IMAGENETTE_320',IMG+'imagenette2-320.tgz'),
 ('IMAGEWOOF',IMG+'imagewoof2.tgz'),('IMAGEWOOF_160',IMG+'imagewoof2-160.tgz'),('IMAGEWOOF_320',IMG+'imagewoof2-320.tgz'),
 ('IMAGEWANG',IMG+'imagewang.tgz'),('IMAGEWANG_160',IMG+'imagewang-160.tgz'),('IMAGEWANG_320',IMG+'imagewang-320.tgz'),
 ('DOGS',URL+'dogscats.tgz'),
 ('CALTECH_101',IMG+'caltech_101.tgz'),('CARS',IMG+'stanford-cars.tgz'),('CIFAR_100',IMG+'cifar100.tgz'),
 ('CUB_200_2011',IMG+'CUB_200_2011.tgz'),('FLOWERS',IMG+'oxford-102-flowers.tgz'),('FOOD',IMG+'food-101.tgz'),
 ('MNIST',IMG+'mnist_png.tgz'),('PETS',IMG+'oxford-iiit-pet.tgz'),
 ('AG_NEWS',NLP+'ag_news_csv.tgz'),('AMAZON_REVIEWS',NLP+'amazon_review_full_csv.tgz'),
 ('AMAZON_REVIEWS_POLARITY',NLP+'amazon_review_polarity_csv.tgz'),('DBPEDIA',NLP+'dbpedia_csv.tgz'),
 ('MT_ENG_FRA',NLP+'giga-fren.tgz'),('SOGOU_NEWS',NLP+'sogou_news_csv.tgz'),('WIKITEXT',NLP+'wikitext-103.tgz'),
 ('WIKITEXT_TINY',NLP+'wikitext-2.tgz'),('YAHOO_ANSWERS',NLP+'yahoo_answers_csv.tgz'),('YELP_REVIEWS',NLP+'yelp_review_full_csv.tgz'),
 ('YELP_REVIEWS_POLARITY',NLP+'yelp_review_polarity_csv.tgz'),
 ('BIWI_HEAD_POSE',LOC+'biwi_head_pose.tgz'),('CAMVID',LOC+'camvid.tgz'),('CAMVID_TINY',URL+'camvid_tiny.tgz'),
 ('LSUN_BEDROOMS',IMG+'bedroom.tgz'),('PASCAL_2007',LOC+'pascal_2007.tgz'),('PASCAL_2012',LOC+'pascal_2012.tgz'),
 ('SIIM_SMALL',LOC+'siim_small.tgz'),('TCGA_SMALL',LOC+'tcga_small.tgz'),
]
out=[]
for n,u in names:
    size,md5 = checks[u]
    folder = u.rsplit('/',1)[1][:-len('.tgz')]
    out.append({'name':n,'url':u,'size':size,'md5':md5,'folder':folder})
assert len({u for _,u in names})==len(names)
missing = set(checks)-{u for _,u in names}
if missing: print('not named (left out):', sorted(missing))
doc = {
 'about': "fastai's data sets: the names of fastai's URLs (fastai/data/external.py), their addresses, and the size and md5 of the first MiB (2**20 bytes) of each archive as fastai records them in fastai/data/download_checks.py (fastdownload's path_stats). folder: where untar_data extracts it, under the data cache (fastai's: the archive's name without .tgz).",
 'datasets': out}
lines = ['{', '  "about": ' + json.dumps(doc['about']) + ',', '  "datasets": [']
lines += ['    ' + json.dumps(e) + (',' if i + 1 < len(out) else '') for i, e in enumerate(out)]
lines += ['  ]', '}']
open('datasets/registry.json', 'w').write('\n'.join(lines) + '\n')
print(len(out), 'data sets written to datasets/registry.json')
