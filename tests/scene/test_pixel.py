"""The pixel backend's colour/position rules put drawn classes in the right places."""

import numpy as np
import pytest
from scene_support import street

from perceptops.scene import CITYSCAPES_CLASSES
from perceptops.scene.photometric import working_array
from perceptops.scene.pixel import pixel_label_map

C = {c: i for i, c in enumerate(CITYSCAPES_CLASSES)}


def at(labels, fy, fx):
    h, w = labels.shape
    return CITYSCAPES_CLASSES[labels[int(fy * (h - 1)), int(fx * (w - 1))]]


def test_drawn_street_classes_in_place():
    lab = pixel_label_map(working_array(street(person=True)))
    assert at(lab, 0.1, 0.6) == "sky"
    assert at(lab, 0.3, 0.1) == "vegetation"
    assert at(lab, 0.9, 0.3) == "road"
    assert at(lab, 0.9, 0.95) == "sidewalk"
    assert at(lab, 0.72, 0.5) == "car"
    assert at(lab, 0.57, 0.865) == "person"  # the head
    assert at(lab, 0.7, 0.865) == "person"  # the body under it


def test_drawn_street_fractions():
    lab = pixel_label_map(working_array(street(car=False)))
    frac = np.bincount(lab.ravel(), minlength=19) / lab.size
    # sky: upper half minus the tree's quarter; tree: a quarter wide, 3/4 high
    assert frac[C["sky"]] == pytest.approx(0.5 * 0.75, abs=0.02)
    assert frac[C["vegetation"]] == pytest.approx(0.25 * 0.75, abs=0.02)
    assert frac[C["sidewalk"]] == pytest.approx(0.5 * 0.2, abs=0.02)
    assert frac[C["car"]] == 0
    assert frac[C["person"]] == 0


def test_night_sky_is_dark_and_flat():
    lab = pixel_label_map(working_array(street(night=True)))
    assert at(lab, 0.1, 0.6) == "sky"
    assert at(lab, 0.9, 0.3) == "road"


def test_grey_wall_in_upper_half_is_building_not_sky():
    a = np.array(working_array(street()))
    a[: a.shape[0] // 2, a.shape[1] // 2 :] = (120, 110, 105)  # a dull facade
    lab = pixel_label_map(a)
    assert at(lab, 0.2, 0.8) == "building"
    assert at(lab, 0.2, 0.4) == "sky"


def test_saturated_blob_in_sky_is_not_a_car():
    a = np.array(working_array(street(car=False)))
    a[10:30, 150:200] = (200, 30, 30)  # a red sign high up: not on the road half
    lab = pixel_label_map(a)
    assert (lab == C["car"]).sum() == 0


def test_thin_saturated_line_is_not_a_car():
    a = np.array(working_array(street(car=False)))
    a[130:, 158:162] = (230, 200, 30)  # a yellow centre line: long and thin
    lab = pixel_label_map(a)
    assert (lab == C["car"]).sum() == 0


def test_big_skin_toned_wall_is_not_a_person():
    a = np.array(working_array(street(car=False)))
    a[60:200, 200:320] = (215, 165, 125)  # a beige facade: far larger than a head
    lab = pixel_label_map(a)
    assert (lab == C["person"]).sum() == 0


def test_sidewalk_found_at_night_by_relative_lightness():
    a = np.array(working_array(street(car=False))).astype(np.float32)
    a[a.shape[0] // 2 :] *= 0.2  # everything on the ground much darker; sidewalk still lighter than road
    lab = pixel_label_map(a.astype(np.uint8))
    assert at(lab, 0.9, 0.95) == "sidewalk"
    assert at(lab, 0.9, 0.5) == "road"
