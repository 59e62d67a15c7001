"""Image transformation and computation, serially and as Ray tasks.

From "Remote Functions as Tasks" / "A Guided Tour of Ray Core: Remote Tasks".
The tutorial downloads high-resolution JPEGs and transforms them with PIL,
torchvision and torch. This version has no network, PIL or torch: the
"images" are numpy arrays made locally, and the transformations (Gaussian
blur, a TrivialAugmentWide-style random augmentation, transposes, element-wise
multiplications and powers, thumbnail) are written with numpy only.

Run:  python examples/image_processing.py [SCALE]     (or EXAMPLE_SCALE=2 ...)
SCALE multiplies the batch sizes (default 1: BATCHES = [2, 4, 6, 8, 10]).
"""
import flare as ray

import os
import random
import sys
import time
from typing import List, Tuple

import numpy as np

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else float(os.environ.get("EXAMPLE_SCALE", "1"))

IMAGE_SIZE = 768          # the tutorial's images are ~4000x3000 JPEGs
THUMBNAIL_SIZE = (200, 200)
BATCHES = [max(1, round(n * SCALE)) for n in (2, 4, 6, 8, 10)]
NUM_IMAGES = max(BATCHES)


# ---- numpy stand-ins for PIL / torchvision ----------------------------------

def make_image(img_name: str) -> np.ndarray:
    """A synthetic high-resolution RGB image (H, W, 3) uint8, like a decoded JPEG."""
    seed = sum(img_name.encode())
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float32) / IMAGE_SIZE
    base = np.stack([np.sin(6 * x + seed), np.cos(5 * y - seed), np.sin(4 * (x + y))], axis=-1)
    noise = rng.normal(0, 0.2, size=(IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)
    return np.clip((base + noise + 1.0) * 100.0, 0, 255).astype(np.uint8)


def _box_blur(data: np.ndarray, radius: int, axis: int) -> np.ndarray:
    pad = [(0, 0)] * data.ndim
    pad[axis] = (radius + 1, radius)
    padded = np.pad(data, pad, mode="edge")
    summed = np.cumsum(padded, axis=axis, dtype=np.float32)
    upper = np.take(summed, np.arange(2 * radius + 1, summed.shape[axis]), axis=axis)
    lower = np.take(summed, np.arange(0, summed.shape[axis] - 2 * radius - 1), axis=axis)
    return (upper - lower) / (2 * radius + 1)


def gaussian_blur(img: np.ndarray, radius: int) -> np.ndarray:
    """Like ImageFilter.GaussianBlur(radius): three box blurs per axis."""
    data = img.astype(np.float32)
    box = max(1, radius // 2)
    for _ in range(3):
        data = _box_blur(data, box, axis=0)
        data = _box_blur(data, box, axis=1)
    return np.clip(data, 0, 255).astype(np.uint8)


def trivial_augment_wide(img: np.ndarray, num_magnitude_bins: int = 31) -> np.ndarray:
    """Like T.TrivialAugmentWide: one random op with a random magnitude."""
    magnitude = random.randrange(num_magnitude_bins) / (num_magnitude_bins - 1)
    op = random.choice(["identity", "brightness", "contrast", "flip", "rotate90",
                        "posterize", "solarize", "equalize"])
    data = img.astype(np.float32)
    if op == "brightness":
        data = data * (1.0 + 0.99 * (2 * magnitude - 1))
    elif op == "contrast":
        mean = data.mean()
        data = (data - mean) * (1.0 + 0.99 * (2 * magnitude - 1)) + mean
    elif op == "flip":
        data = data[:, ::-1]
    elif op == "rotate90":
        data = np.rot90(data)
    elif op == "posterize":
        bits = 8 - int(magnitude * 6)
        data = (img >> (8 - bits) << (8 - bits)).astype(np.float32)
    elif op == "solarize":
        threshold = 255 * (1 - magnitude)
        data = np.where(data >= threshold, 255 - data, data)
    elif op == "equalize":
        hist = np.bincount(img.ravel(), minlength=256).cumsum()
        data = (hist[img] * 255.0 / hist[-1]).astype(np.float32)
    return np.clip(data, 0, 255).astype(np.uint8)


def thumbnail(img: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Like Image.thumbnail(size): shrink by block averaging, keeping the aspect ratio."""
    factor = max(1, -(-max(img.shape[0], img.shape[1]) // max(size)))
    h, w = img.shape[0] // factor * factor, img.shape[1] // factor * factor
    blocks = img[:h, :w].reshape(h // factor, factor, w // factor, factor, -1)
    return blocks.mean(axis=(1, 3)).astype(np.uint8)


# ---- the tutorial's functions ------------------------------------------------

def transform_image(img_ref: object, fetch_image=True, verbose=False):
    """
    This is a deliberate compute intensive image transfromation and tensor operation
    to simulate a compute intensive image processing
    """
    import flare as ray

    # Only fetch the image from the object store if called serially.
    if fetch_image:
        img = ray.get(img_ref)
    else:
        img = img_ref
    before_shape = img.shape

    # Make the image blur with specified intensify
    # Use torchvision-style transformation to augment the image
    img = gaussian_blur(img, radius=20)
    img = trivial_augment_wide(img, num_magnitude_bins=31)

    # Convert image to tensor and transpose
    tensor = np.asarray(img).astype(np.float32)
    t_tensor = np.transpose(tensor, (1, 0, 2))

    # compute intensive operations on tensors
    for _ in range(3):
        np.multiply(tensor, random.randint(2, 10))
        np.multiply(t_tensor, random.randint(2, 10))
        np.multiply(tensor, tensor)
        np.multiply(t_tensor, t_tensor)
    # more exponential tensor power and multiplication with tensors
    np.multiply(np.power(tensor, 2), np.power(t_tensor, 3))

    # Resize to a thumbnail
    img = thumbnail(img, THUMBNAIL_SIZE)
    after_shape = img.shape
    if verbose:
        print(f"augmented: shape:{img.shape}| image tensor shape:{tensor.shape} "
              f"transpose shape:{t_tensor.shape}")
    return before_shape, after_shape


def run_serially(img_list_refs: List) -> List[Tuple[int, float]]:
    transform_results = [transform_image(image_ref, fetch_image=True) for image_ref in img_list_refs]
    return transform_results


@ray.remote
def augment_image_distributed(image_ref: object, fetch_image) -> List[object]:
    return transform_image(image_ref, fetch_image=fetch_image)


def run_distributed(img_list_refs: List[object]) -> List[Tuple[int, float]]:
    return ray.get([augment_image_distributed.remote(img, False) for img in img_list_refs])


def insert_into_object_store(img_name: str):
    """
    Insert the image into the object store and return its object reference
    """
    import flare as ray

    img = make_image(img_name)
    img_ref = ray.put(img)
    return img_ref


if ray.is_initialized():
    ray.shutdown()
ray.init()

# Place all images into the object store. Since Ray tasks may be disributed
# across machines, the images may not be present on a worker. However,
# placing them into the Ray distributed objector provides access to any
# remote task scheduled on Ray worker
image_list = [f"image_{i:03d}" for i in range(NUM_IMAGES)]
images_list_refs = [insert_into_object_store(image) for image in image_list]
print(f"{len(images_list_refs)} images of {IMAGE_SIZE}x{IMAGE_SIZE}x3 in the object store, e.g. "
      f"{images_list_refs[:2]}")

serial_times, distributed_times = {}, {}
serial_by_batch, distributed_by_batch = {}, {}

# Serial execution
for idx in BATCHES:
    # Use the index to get N number of images
    image_batch_list_refs = images_list_refs[:idx]
    print(f"\nRunning {len(image_batch_list_refs)} tasks serially....")
    # Run each one serially
    start = time.perf_counter()
    serial_results = run_serially(image_batch_list_refs)
    end = time.perf_counter()
    elapsed = end - start
    serial_times[idx] = elapsed
    serial_by_batch[idx] = serial_results
    print(f"Serial transformations/computations of {len(image_batch_list_refs)} images: {elapsed:.2f} sec")

# Distributed execution
for idx in BATCHES:
    image_batch_list_refs = images_list_refs[:idx]
    print(f"\nRunning {len(image_batch_list_refs)} tasks distributed....")
    start = time.perf_counter()
    distributed_results = run_distributed(image_batch_list_refs)
    end = time.perf_counter()
    elapsed = end - start
    distributed_times[idx] = elapsed
    distributed_by_batch[idx] = distributed_results
    print(f"Distributed transformations/computations of {len(image_batch_list_refs)} images: {elapsed:.2f} sec")

print()
for idx in BATCHES:
    print(f"{idx:3d} images: serial {serial_times[idx]:.2f} sec | distributed "
          f"{distributed_times[idx]:.2f} sec | speed-up {serial_times[idx] / distributed_times[idx]:.2f}x")
print(f"Example result: {distributed_by_batch[BATCHES[0]][0]}")
assert serial_by_batch == distributed_by_batch, "serial and distributed results differ"
print("Serial and distributed results match")

ray.shutdown()
