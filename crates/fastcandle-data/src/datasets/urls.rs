//! fastai's `URLs`: the address of each registered data set, by fastai's name.

/// The addresses of fastai's data sets, by the names of fastai's `URLs`
/// (`untar_data(Urls::PETS)`). Each is in the registry (`datasets/registry.json`) with its check;
/// a unit test keeps the two in step.
pub struct Urls;

impl Urls {
    /// `ADULT_SAMPLE`: 968212 bytes, extracted to `adult_sample/`.
    pub const ADULT_SAMPLE: &'static str =
        "https://s3.amazonaws.com/fast-ai-sample/adult_sample.tgz";
    /// `BIWI_SAMPLE`: 593774 bytes, extracted to `biwi_sample/`.
    pub const BIWI_SAMPLE: &'static str = "https://s3.amazonaws.com/fast-ai-sample/biwi_sample.tgz";
    /// `CIFAR`: 168168549 bytes, extracted to `cifar10/`.
    pub const CIFAR: &'static str = "https://s3.amazonaws.com/fast-ai-sample/cifar10.tgz";
    /// `COCO_SAMPLE`: 3245877008 bytes, extracted to `coco_sample/`.
    pub const COCO_SAMPLE: &'static str = "https://s3.amazonaws.com/fast-ai-coco/coco_sample.tgz";
    /// `COCO_TINY`: 801038 bytes, extracted to `coco_tiny/`.
    pub const COCO_TINY: &'static str = "https://s3.amazonaws.com/fast-ai-coco/coco_tiny.tgz";
    /// `HUMAN_NUMBERS`: 30252 bytes, extracted to `human_numbers/`.
    pub const HUMAN_NUMBERS: &'static str =
        "https://s3.amazonaws.com/fast-ai-sample/human_numbers.tgz";
    /// `IMDB`: 144440600 bytes, extracted to `imdb/`.
    pub const IMDB: &'static str = "https://s3.amazonaws.com/fast-ai-nlp/imdb.tgz";
    /// `IMDB_SAMPLE`: 571827 bytes, extracted to `imdb_sample/`.
    pub const IMDB_SAMPLE: &'static str = "https://s3.amazonaws.com/fast-ai-sample/imdb_sample.tgz";
    /// `ML_SAMPLE`: 51790 bytes, extracted to `movie_lens_sample/`.
    pub const ML_SAMPLE: &'static str =
        "https://s3.amazonaws.com/fast-ai-sample/movie_lens_sample.tgz";
    /// `MNIST_SAMPLE`: 3214948 bytes, extracted to `mnist_sample/`.
    pub const MNIST_SAMPLE: &'static str =
        "https://s3.amazonaws.com/fast-ai-sample/mnist_sample.tgz";
    /// `MNIST_TINY`: 342207 bytes, extracted to `mnist_tiny/`.
    pub const MNIST_TINY: &'static str = "https://s3.amazonaws.com/fast-ai-sample/mnist_tiny.tgz";
    /// `MNIST_VAR_SIZE_TINY`: 565372 bytes, extracted to `mnist_var_size_tiny/`.
    pub const MNIST_VAR_SIZE_TINY: &'static str =
        "https://s3.amazonaws.com/fast-ai-imageclas/mnist_var_size_tiny.tgz";
    /// `PLANET_SAMPLE`: 15523994 bytes, extracted to `planet_sample/`.
    pub const PLANET_SAMPLE: &'static str =
        "https://s3.amazonaws.com/fast-ai-sample/planet_sample.tgz";
    /// `PLANET_TINY`: 997569 bytes, extracted to `planet_tiny/`.
    pub const PLANET_TINY: &'static str = "https://s3.amazonaws.com/fast-ai-sample/planet_tiny.tgz";
    /// `IMAGENETTE`: 1557161267 bytes, extracted to `imagenette2/`.
    pub const IMAGENETTE: &'static str =
        "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2.tgz";
    /// `IMAGENETTE_160`: 99003388 bytes, extracted to `imagenette2-160/`.
    pub const IMAGENETTE_160: &'static str =
        "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz";
    /// `IMAGENETTE_320`: 341663724 bytes, extracted to `imagenette2-320/`.
    pub const IMAGENETTE_320: &'static str =
        "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-320.tgz";
    /// `IMAGEWOOF`: 1343715595 bytes, extracted to `imagewoof2/`.
    pub const IMAGEWOOF: &'static str = "https://s3.amazonaws.com/fast-ai-imageclas/imagewoof2.tgz";
    /// `IMAGEWOOF_160`: 92612825 bytes, extracted to `imagewoof2-160/`.
    pub const IMAGEWOOF_160: &'static str =
        "https://s3.amazonaws.com/fast-ai-imageclas/imagewoof2-160.tgz";
    /// `IMAGEWOOF_320`: 328387740 bytes, extracted to `imagewoof2-320/`.
    pub const IMAGEWOOF_320: &'static str =
        "https://s3.amazonaws.com/fast-ai-imageclas/imagewoof2-320.tgz";
    /// `IMAGEWANG`: 2900347689 bytes, extracted to `imagewang/`.
    pub const IMAGEWANG: &'static str = "https://s3.amazonaws.com/fast-ai-imageclas/imagewang.tgz";
    /// `IMAGEWANG_160`: 191498213 bytes, extracted to `imagewang-160/`.
    pub const IMAGEWANG_160: &'static str =
        "https://s3.amazonaws.com/fast-ai-imageclas/imagewang-160.tgz";
    /// `IMAGEWANG_320`: 669826647 bytes, extracted to `imagewang-320/`.
    pub const IMAGEWANG_320: &'static str =
        "https://s3.amazonaws.com/fast-ai-imageclas/imagewang-320.tgz";
    /// `DOGS`: 839285364 bytes, extracted to `dogscats/`.
    pub const DOGS: &'static str = "https://s3.amazonaws.com/fast-ai-sample/dogscats.tgz";
    /// `CALTECH_101`: 131740031 bytes, extracted to `caltech_101/`.
    pub const CALTECH_101: &'static str =
        "https://s3.amazonaws.com/fast-ai-imageclas/caltech_101.tgz";
    /// `CARS`: 1957803273 bytes, extracted to `stanford-cars/`.
    pub const CARS: &'static str = "https://s3.amazonaws.com/fast-ai-imageclas/stanford-cars.tgz";
    /// `CIFAR_100`: 169168619 bytes, extracted to `cifar100/`.
    pub const CIFAR_100: &'static str = "https://s3.amazonaws.com/fast-ai-imageclas/cifar100.tgz";
    /// `CUB_200_2011`: 1150585339 bytes, extracted to `CUB_200_2011/`.
    pub const CUB_200_2011: &'static str =
        "https://s3.amazonaws.com/fast-ai-imageclas/CUB_200_2011.tgz";
    /// `FLOWERS`: 345236087 bytes, extracted to `oxford-102-flowers/`.
    pub const FLOWERS: &'static str =
        "https://s3.amazonaws.com/fast-ai-imageclas/oxford-102-flowers.tgz";
    /// `FOOD`: 5686607260 bytes, extracted to `food-101/`.
    pub const FOOD: &'static str = "https://s3.amazonaws.com/fast-ai-imageclas/food-101.tgz";
    /// `MNIST`: 15683414 bytes, extracted to `mnist_png/`.
    pub const MNIST: &'static str = "https://s3.amazonaws.com/fast-ai-imageclas/mnist_png.tgz";
    /// `PETS`: 811706944 bytes, extracted to `oxford-iiit-pet/`.
    pub const PETS: &'static str = "https://s3.amazonaws.com/fast-ai-imageclas/oxford-iiit-pet.tgz";
    /// `AG_NEWS`: 11784419 bytes, extracted to `ag_news_csv/`.
    pub const AG_NEWS: &'static str = "https://s3.amazonaws.com/fast-ai-nlp/ag_news_csv.tgz";
    /// `AMAZON_REVIEWS`: 71606272 bytes, extracted to `amazon_review_full_csv/`.
    pub const AMAZON_REVIEWS: &'static str =
        "https://s3.amazonaws.com/fast-ai-nlp/amazon_review_full_csv.tgz";
    /// `AMAZON_REVIEWS_POLARITY`: 688339454 bytes, extracted to `amazon_review_polarity_csv/`.
    pub const AMAZON_REVIEWS_POLARITY: &'static str =
        "https://s3.amazonaws.com/fast-ai-nlp/amazon_review_polarity_csv.tgz";
    /// `DBPEDIA`: 68341743 bytes, extracted to `dbpedia_csv/`.
    pub const DBPEDIA: &'static str = "https://s3.amazonaws.com/fast-ai-nlp/dbpedia_csv.tgz";
    /// `MT_ENG_FRA`: 2598183296 bytes, extracted to `giga-fren/`.
    pub const MT_ENG_FRA: &'static str = "https://s3.amazonaws.com/fast-ai-nlp/giga-fren.tgz";
    /// `SOGOU_NEWS`: 384269937 bytes, extracted to `sogou_news_csv/`.
    pub const SOGOU_NEWS: &'static str = "https://s3.amazonaws.com/fast-ai-nlp/sogou_news_csv.tgz";
    /// `WIKITEXT`: 190200704 bytes, extracted to `wikitext-103/`.
    pub const WIKITEXT: &'static str = "https://s3.amazonaws.com/fast-ai-nlp/wikitext-103.tgz";
    /// `WIKITEXT_TINY`: 4070055 bytes, extracted to `wikitext-2/`.
    pub const WIKITEXT_TINY: &'static str = "https://s3.amazonaws.com/fast-ai-nlp/wikitext-2.tgz";
    /// `YAHOO_ANSWERS`: 319476345 bytes, extracted to `yahoo_answers_csv/`.
    pub const YAHOO_ANSWERS: &'static str =
        "https://s3.amazonaws.com/fast-ai-nlp/yahoo_answers_csv.tgz";
    /// `YELP_REVIEWS`: 196146755 bytes, extracted to `yelp_review_full_csv/`.
    pub const YELP_REVIEWS: &'static str =
        "https://s3.amazonaws.com/fast-ai-nlp/yelp_review_full_csv.tgz";
    /// `YELP_REVIEWS_POLARITY`: 166373201 bytes, extracted to `yelp_review_polarity_csv/`.
    pub const YELP_REVIEWS_POLARITY: &'static str =
        "https://s3.amazonaws.com/fast-ai-nlp/yelp_review_polarity_csv.tgz";
    /// `BIWI_HEAD_POSE`: 452316199 bytes, extracted to `biwi_head_pose/`.
    pub const BIWI_HEAD_POSE: &'static str =
        "https://s3.amazonaws.com/fast-ai-imagelocal/biwi_head_pose.tgz";
    /// `CAMVID`: 598913237 bytes, extracted to `camvid/`.
    pub const CAMVID: &'static str = "https://s3.amazonaws.com/fast-ai-imagelocal/camvid.tgz";
    /// `CAMVID_TINY`: 2314212 bytes, extracted to `camvid_tiny/`.
    pub const CAMVID_TINY: &'static str = "https://s3.amazonaws.com/fast-ai-sample/camvid_tiny.tgz";
    /// `LSUN_BEDROOMS`: 4579163978 bytes, extracted to `bedroom/`.
    pub const LSUN_BEDROOMS: &'static str =
        "https://s3.amazonaws.com/fast-ai-imageclas/bedroom.tgz";
    /// `PASCAL_2007`: 1637796771 bytes, extracted to `pascal_2007/`.
    pub const PASCAL_2007: &'static str =
        "https://s3.amazonaws.com/fast-ai-imagelocal/pascal_2007.tgz";
    /// `PASCAL_2012`: 2618908000 bytes, extracted to `pascal_2012/`.
    pub const PASCAL_2012: &'static str =
        "https://s3.amazonaws.com/fast-ai-imagelocal/pascal_2012.tgz";
    /// `SIIM_SMALL`: 33276453 bytes, extracted to `siim_small/`.
    pub const SIIM_SMALL: &'static str =
        "https://s3.amazonaws.com/fast-ai-imagelocal/siim_small.tgz";
    /// `TCGA_SMALL`: 14744474 bytes, extracted to `tcga_small/`.
    pub const TCGA_SMALL: &'static str =
        "https://s3.amazonaws.com/fast-ai-imagelocal/tcga_small.tgz";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::registry::datasets;

    #[test]
    fn every_constant_is_registered_under_its_name() {
        let reg = datasets();
        for (name, url) in [
            ("ADULT_SAMPLE", Urls::ADULT_SAMPLE),
            ("BIWI_SAMPLE", Urls::BIWI_SAMPLE),
            ("CIFAR", Urls::CIFAR),
            ("COCO_SAMPLE", Urls::COCO_SAMPLE),
            ("COCO_TINY", Urls::COCO_TINY),
            ("HUMAN_NUMBERS", Urls::HUMAN_NUMBERS),
            ("IMDB", Urls::IMDB),
            ("IMDB_SAMPLE", Urls::IMDB_SAMPLE),
            ("ML_SAMPLE", Urls::ML_SAMPLE),
            ("MNIST_SAMPLE", Urls::MNIST_SAMPLE),
            ("MNIST_TINY", Urls::MNIST_TINY),
            ("MNIST_VAR_SIZE_TINY", Urls::MNIST_VAR_SIZE_TINY),
            ("PLANET_SAMPLE", Urls::PLANET_SAMPLE),
            ("PLANET_TINY", Urls::PLANET_TINY),
            ("IMAGENETTE", Urls::IMAGENETTE),
            ("IMAGENETTE_160", Urls::IMAGENETTE_160),
            ("IMAGENETTE_320", Urls::IMAGENETTE_320),
            ("IMAGEWOOF", Urls::IMAGEWOOF),
            ("IMAGEWOOF_160", Urls::IMAGEWOOF_160),
            ("IMAGEWOOF_320", Urls::IMAGEWOOF_320),
            ("IMAGEWANG", Urls::IMAGEWANG),
            ("IMAGEWANG_160", Urls::IMAGEWANG_160),
            ("IMAGEWANG_320", Urls::IMAGEWANG_320),
            ("DOGS", Urls::DOGS),
            ("CALTECH_101", Urls::CALTECH_101),
            ("CARS", Urls::CARS),
            ("CIFAR_100", Urls::CIFAR_100),
            ("CUB_200_2011", Urls::CUB_200_2011),
            ("FLOWERS", Urls::FLOWERS),
            ("FOOD", Urls::FOOD),
            ("MNIST", Urls::MNIST),
            ("PETS", Urls::PETS),
            ("AG_NEWS", Urls::AG_NEWS),
            ("AMAZON_REVIEWS", Urls::AMAZON_REVIEWS),
            ("AMAZON_REVIEWS_POLARITY", Urls::AMAZON_REVIEWS_POLARITY),
            ("DBPEDIA", Urls::DBPEDIA),
            ("MT_ENG_FRA", Urls::MT_ENG_FRA),
            ("SOGOU_NEWS", Urls::SOGOU_NEWS),
            ("WIKITEXT", Urls::WIKITEXT),
            ("WIKITEXT_TINY", Urls::WIKITEXT_TINY),
            ("YAHOO_ANSWERS", Urls::YAHOO_ANSWERS),
            ("YELP_REVIEWS", Urls::YELP_REVIEWS),
            ("YELP_REVIEWS_POLARITY", Urls::YELP_REVIEWS_POLARITY),
            ("BIWI_HEAD_POSE", Urls::BIWI_HEAD_POSE),
            ("CAMVID", Urls::CAMVID),
            ("CAMVID_TINY", Urls::CAMVID_TINY),
            ("LSUN_BEDROOMS", Urls::LSUN_BEDROOMS),
            ("PASCAL_2007", Urls::PASCAL_2007),
            ("PASCAL_2012", Urls::PASCAL_2012),
            ("SIIM_SMALL", Urls::SIIM_SMALL),
            ("TCGA_SMALL", Urls::TCGA_SMALL),
        ] {
            let d = reg.iter().find(|d| d.name == name).expect(name);
            assert_eq!(d.url, url, "{name}");
        }
    }
}
