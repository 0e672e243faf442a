"""``keras.applications``: VGG16, VGG19, ResNet50, MobileNetV2 (``weights=None``, "imagenet"
downloads Keras's weight files through ``keras.utils.get_file``, or a local path)."""
from numflow.keras.applications import imagenet_utils, mobilenet_v2, resnet, vgg  # noqa: F401
from numflow.keras.applications.mobilenet_v2 import MobileNetV2
from numflow.keras.applications.resnet import ResNet50
from numflow.keras.applications.vgg import VGG16, VGG19

vgg16 = vgg19 = vgg
resnet50 = resnet

__all__ = ["VGG16", "VGG19", "ResNet50", "MobileNetV2", "imagenet_utils"]
