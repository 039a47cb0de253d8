#!/usr/bin/env bash
# Real photographs and audio for calibrating and evaluating the development
# set of issue 14, taken from Debian packages, split into calibration and
# evaluation sets that never overlap.
#
#   scripts/realnet/fetch_photos.sh [CACHE_DIR]
#     CACHE_DIR  default ${BITNPU_CACHE:-$HOME/.cache/bitnpu}
#
# Photos: `apt-get download PKG` + `dpkg-deb -x` into a temporary folder (the
# packages are never installed), then the photographs listed below (a curated
# list: the packages also hold drawings, renders, logos, test patterns and
# abstract wallpapers, which are left out) are copied to
#   CACHE_DIR/photos/{calib,eval}/<package>__<file>
# Split: photos of the same scene (stereo pairs, the frames of one sequence)
# share a group; groups are ordered by sha256 of their name and alternate
# calib, eval, calib, ... so the split is deterministic, independent of the
# machine, and a scene is never on both sides. CACHE_DIR/photos/manifest.tsv
# lists every photo (split, group, package, version, source path, size).
#
# Audio (for the openWakeWord models, 16 kHz mono as the package expects):
#   - real recordings: the speech clips of alsa-utils (/usr/share/sounds/alsa),
#     extracted the same way;
#   - speech synthesized with espeak-ng (installed with apt-get if missing,
#     with sox for resampling): the wake words and commands of the heads
#     (alexa, hey jarvis, hey mycroft, hey rhasspy, weather, timers) and
#     other sentences, several voices, speeds and pitches.
# into CACHE_DIR/audio/{calib,eval}/*.wav (same hash-alternation split, by
# utterance), listed in CACHE_DIR/audio/manifest.tsv.
# Idempotent: downloaded .debs are kept in CACHE_DIR/_debs; the photo and
# audio folders are rebuilt from them (same bytes, same split) on every run.
set -euo pipefail
cache=${1:-${BITNPU_CACHE:-$HOME/.cache/bitnpu}}
mkdir -p "$cache/_debs"
cache=$(cd "$cache" && pwd)
py=/usr/bin/python3
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

# package <TAB> path inside the package <TAB> scene group ("-" = its own group)
read -r -d '' LIST <<'EOF' || true
opencv-doc	usr/share/doc/opencv-doc/examples/alphamat/input_images/plant.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/text/scenetext01.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/text/scenetext02.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/text/scenetext03.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/text/scenetext04.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/text/scenetext05.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/text/scenetext06.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/text/scenetext_segmented_word01.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/text/scenetext_segmented_word02.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/text/scenetext_segmented_word03.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/text/scenetext_segmented_word04.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/text/scenetext_segmented_word05.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/reg/home.png	-
opencv-doc	usr/share/doc/opencv-doc/examples/dnn_superres/butterfly.png	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/aero1.jpg	aero
opencv-doc	usr/share/doc/opencv-doc/examples/data/aero3.jpg	aero
opencv-doc	usr/share/doc/opencv-doc/examples/data/aloeL.jpg	aloe
opencv-doc	usr/share/doc/opencv-doc/examples/data/aloeR.jpg	aloe
opencv-doc	usr/share/doc/opencv-doc/examples/data/apple.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/orange.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/baboon.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/basketball1.png	basketball
opencv-doc	usr/share/doc/opencv-doc/examples/data/basketball2.png	basketball
opencv-doc	usr/share/doc/opencv-doc/examples/data/board.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/box.png	box
opencv-doc	usr/share/doc/opencv-doc/examples/data/box_in_scene.png	box
opencv-doc	usr/share/doc/opencv-doc/examples/data/building.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/butterfly.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/chicky_512.png	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/ela_original.jpg	ela
opencv-doc	usr/share/doc/opencv-doc/examples/data/ela_modified.jpg	ela
opencv-doc	usr/share/doc/opencv-doc/examples/data/fruits.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/graf1.png	graf
opencv-doc	usr/share/doc/opencv-doc/examples/data/graf3.png	graf
opencv-doc	usr/share/doc/opencv-doc/examples/data/home.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/left.jpg	leftright
opencv-doc	usr/share/doc/opencv-doc/examples/data/right.jpg	leftright
opencv-doc	usr/share/doc/opencv-doc/examples/data/leuvenA.jpg	leuven
opencv-doc	usr/share/doc/opencv-doc/examples/data/leuvenB.jpg	leuven
opencv-doc	usr/share/doc/opencv-doc/examples/data/licenseplate_motion.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/messi5.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/pca_test1.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/rubberwhale1.png	rubberwhale
opencv-doc	usr/share/doc/opencv-doc/examples/data/rubberwhale2.png	rubberwhale
opencv-doc	usr/share/doc/opencv-doc/examples/data/stuff.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/squirrel_cls.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/sudoku.png	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/text_defocus.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/text_motion.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/hfs/data/000.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/hfs/data/001.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/hfs/data/002.jpg	-
opencv-doc	usr/share/doc/opencv-doc/examples/data/left01.jpg	chess01
opencv-doc	usr/share/doc/opencv-doc/examples/data/right01.jpg	chess01
opencv-doc	usr/share/doc/opencv-doc/examples/data/left02.jpg	chess02
opencv-doc	usr/share/doc/opencv-doc/examples/data/right02.jpg	chess02
opencv-doc	usr/share/doc/opencv-doc/examples/data/left03.jpg	chess03
opencv-doc	usr/share/doc/opencv-doc/examples/data/right03.jpg	chess03
opencv-doc	usr/share/doc/opencv-doc/examples/data/left04.jpg	chess04
opencv-doc	usr/share/doc/opencv-doc/examples/data/right04.jpg	chess04
opencv-doc	usr/share/doc/opencv-doc/examples/data/left05.jpg	chess05
opencv-doc	usr/share/doc/opencv-doc/examples/data/right05.jpg	chess05
opencv-doc	usr/share/doc/opencv-doc/examples/data/left06.jpg	chess06
opencv-doc	usr/share/doc/opencv-doc/examples/data/right06.jpg	chess06
opencv-doc	usr/share/doc/opencv-doc/examples/data/left07.jpg	chess07
opencv-doc	usr/share/doc/opencv-doc/examples/data/right07.jpg	chess07
opencv-doc	usr/share/doc/opencv-doc/examples/data/left08.jpg	chess08
opencv-doc	usr/share/doc/opencv-doc/examples/data/right08.jpg	chess08
opencv-doc	usr/share/doc/opencv-doc/examples/data/left09.jpg	chess09
opencv-doc	usr/share/doc/opencv-doc/examples/data/right09.jpg	chess09
opencv-doc	usr/share/doc/opencv-doc/examples/data/left11.jpg	chess11
opencv-doc	usr/share/doc/opencv-doc/examples/data/right11.jpg	chess11
opencv-doc	usr/share/doc/opencv-doc/examples/data/left12.jpg	chess12
opencv-doc	usr/share/doc/opencv-doc/examples/data/right12.jpg	chess12
opencv-doc	usr/share/doc/opencv-doc/examples/data/left13.jpg	chess13
opencv-doc	usr/share/doc/opencv-doc/examples/data/right13.jpg	chess13
opencv-doc	usr/share/doc/opencv-doc/examples/data/left14.jpg	chess14
opencv-doc	usr/share/doc/opencv-doc/examples/data/right14.jpg	chess14
mate-backgrounds	usr/share/backgrounds/mate/nature/Aqua.jpg	-
mate-backgrounds	usr/share/backgrounds/mate/nature/Blinds.jpg	-
mate-backgrounds	usr/share/backgrounds/mate/nature/Dune.jpg	-
mate-backgrounds	usr/share/backgrounds/mate/nature/FreshFlower.jpg	-
mate-backgrounds	usr/share/backgrounds/mate/nature/Garden.jpg	-
mate-backgrounds	usr/share/backgrounds/mate/nature/GreenMeadow.jpg	-
mate-backgrounds	usr/share/backgrounds/mate/nature/LadyBird.jpg	-
mate-backgrounds	usr/share/backgrounds/mate/nature/RainDrops.jpg	-
mate-backgrounds	usr/share/backgrounds/mate/nature/Storm.jpg	-
mate-backgrounds	usr/share/backgrounds/mate/nature/TwoWings.jpg	-
mate-backgrounds	usr/share/backgrounds/mate/nature/Wood.jpg	-
mate-backgrounds	usr/share/backgrounds/mate/nature/YellowFlower.jpg	-
lomiri-wallpapers-16.04	usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg	-
lomiri-wallpapers-16.04	usr/share/backgrounds/Dragonfly_by_Bolly.jpg	-
lomiri-wallpapers-16.04	usr/share/backgrounds/Picture_0B_by_freespace.jpg	-
lomiri-wallpapers-16.04	usr/share/backgrounds/Picture_1A_by_freespace.jpg	-
lomiri-wallpapers-16.04	usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg	-
lomiri-wallpapers-16.04	usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg	-
lomiri-wallpapers-16.04	usr/share/backgrounds/free_by_Peter_Nerlich.jpg	-
lomiri-wallpapers-16.04	usr/share/backgrounds/friends_by_Aitzol_Berasategi.jpg	-
lomiri-wallpapers-16.04	usr/share/backgrounds/greentock_by_Peter_Nerlich.jpg	-
lomiri-wallpapers-16.04	usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg	-
lomiri-wallpapers-16.04	usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg	-
lomiri-wallpapers-16.04	usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg	-
lomiri-wallpapers-16.04	usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg	-
lomiri-wallpapers-20.04	usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg	-
lomiri-wallpapers-20.04	usr/share/backgrounds/Infinite-Sea_by_Aury88.jpg	-
python3-skimage	usr/lib/python3/dist-packages/skimage/data/astronaut.png	-
python3-skimage	usr/lib/python3/dist-packages/skimage/data/camera.png	-
python3-skimage	usr/lib/python3/dist-packages/skimage/data/chelsea.png	-
python3-skimage	usr/lib/python3/dist-packages/skimage/data/coffee.png	-
python3-skimage	usr/lib/python3/dist-packages/skimage/data/coins.png	-
python3-skimage	usr/lib/python3/dist-packages/skimage/data/grass.png	-
python3-skimage	usr/lib/python3/dist-packages/skimage/data/gravel.png	-
python3-skimage	usr/lib/python3/dist-packages/skimage/data/brick.png	-
python3-skimage	usr/lib/python3/dist-packages/skimage/data/hubble_deep_field.jpg	-
python3-skimage	usr/lib/python3/dist-packages/skimage/data/moon.png	-
python3-skimage	usr/lib/python3/dist-packages/skimage/data/motorcycle_left.png	motorcycle
python3-skimage	usr/lib/python3/dist-packages/skimage/data/motorcycle_right.png	motorcycle
python3-skimage	usr/lib/python3/dist-packages/skimage/data/retina.jpg	-
python3-skimage	usr/lib/python3/dist-packages/skimage/data/rocket.jpg	-
python3-skimage	usr/lib/python3/dist-packages/skimage/data/page.png	-
python3-skimage	usr/lib/python3/dist-packages/skimage/data/text.png	-
EOF
# Packages looked at and not used for photos (their images are artwork, not
# photographs): ukui-wallpapers (12 images), gnome-backgrounds 43 (16),
# lomiri-wallpapers (2), and the drawings/renders of the packages above.

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fetch PKG -> extracts into $tmp/PKG; the .deb is kept in $cache/_debs
fetch() {
  local pkg=$1 deb
  deb=$(ls "$cache/_debs/${pkg}"_*.deb 2>/dev/null | head -1 || true)
  if [[ -z "$deb" ]]; then
    echo "fetch_photos: apt-get download $pkg" >&2
    if ! (cd "$cache/_debs" && apt-get download "$pkg" >/dev/null 2>"$tmp/err"); then
      echo "fetch_photos: apt-get download $pkg failed: $(tail -2 "$tmp/err")" >&2
      return 1
    fi
    deb=$(ls "$cache/_debs/${pkg}"_*.deb | head -1)
  fi
  mkdir -p "$tmp/$pkg"
  dpkg-deb -x "$deb" "$tmp/$pkg"
  dpkg-deb -f "$deb" Version >"$tmp/$pkg.version"
}

# ---------------------------------------------------------------- photos
pkgs=$(printf '%s\n' "$LIST" | cut -f1 | sort -u)
for p in $pkgs alsa-utils; do fetch "$p" || echo "fetch_photos: skipping $p" >&2; done

rm -rf "$cache/photos"
mkdir -p "$cache/photos/calib" "$cache/photos/eval"
printf '%s\n' "$LIST" >"$tmp/list.tsv"
"$py" - "$tmp" "$cache/photos" <<'PY'
import hashlib, os, shutil, sys
from PIL import Image
tmp, out = sys.argv[1], sys.argv[2]
rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(tmp, "list.tsv")) if l.strip()]
def version(pkg):
    p = os.path.join(tmp, pkg + ".version")
    return open(p).read().strip() if os.path.exists(p) else "?"
items = []
for pkg, rel, group in rows:
    src = os.path.join(tmp, pkg, rel)
    if not os.path.exists(src):
        print(f"fetch_photos: missing {pkg}:{rel}", file=sys.stderr)
        continue
    name = f"{pkg}__{os.path.basename(rel)}"
    items.append((pkg, rel, f"{pkg}:{group}" if group != "-" else name, name, src))
groups = sorted({g for _, _, g, _, _ in items}, key=lambda g: hashlib.sha256(g.encode()).hexdigest())
split = {g: ("calib" if i % 2 == 0 else "eval") for i, g in enumerate(groups)}
with open(os.path.join(out, "manifest.tsv"), "w") as m:
    m.write("split\tfile\tgroup\tpackage\tversion\tsource\twidth\theight\tmode\n")
    for pkg, rel, group, name, src in sorted(items, key=lambda t: (split[t[2]], t[3])):
        dst = os.path.join(out, split[group], name)
        shutil.copyfile(src, dst)
        im = Image.open(dst)
        m.write(f"{split[group]}\t{name}\t{group}\t{pkg}\t{version(pkg)}\t/{rel}\t{im.size[0]}\t{im.size[1]}\t{im.mode}\n")
n = {s: sum(1 for g in groups if split[g] == s) for s in ("calib", "eval")}
files = {s: len(os.listdir(os.path.join(out, s))) for s in ("calib", "eval")}
print(f"fetch_photos: {len(items)} photos in {len(groups)} scene groups: "
      f"calib {files['calib']} ({n['calib']} groups), eval {files['eval']} ({n['eval']} groups)")
for pkg in sorted({i[0] for i in items}):
    c = [sum(1 for i in items if i[0] == pkg and split[i[2]] == s) for s in ("calib", "eval")]
    print(f"fetch_photos:   {pkg} {version(pkg)}: {c[0] + c[1]} (calib {c[0]}, eval {c[1]})")
PY

# ---------------------------------------------------------------- audio
need=()
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox)
if [[ ${#need[@]} -gt 0 ]]; then
  echo "fetch_photos: apt-get install ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
rm -rf "$cache/audio"
mkdir -p "$cache/audio/calib" "$cache/audio/eval" "$tmp/audio"
# utterance id <TAB> text (ids are stable; the split hashes them)
read -r -d '' SENTENCES <<'EOF' || true
alexa1	Alexa, what time is it?
alexa2	Alexa, play some music in the kitchen.
alexa3	Alexa.
jarvis1	Hey Jarvis, turn on the lights.
jarvis2	Hey Jarvis.
jarvis3	Hey Jarvis, how long until sunset?
mycroft1	Hey Mycroft, tell me a joke.
mycroft2	Hey Mycroft.
mycroft3	Hey Mycroft, what is on my calendar today?
rhasspy1	Hey Rhasspy, open the garage door.
rhasspy2	Hey Rhasspy.
weather1	What is the weather like today?
weather2	Will it rain tomorrow in Berlin?
weather3	What's the weather forecast for the weekend?
timer1	Set a timer for five minutes.
timer2	Start a one minute timer.
timer3	Set a timer for one hour.
timer4	Set a twenty minute timer for the pasta.
other1	The quick brown fox jumps over the lazy dog.
other2	Please remember to buy milk and bread on the way home.
other3	I think we should leave before the traffic gets worse.
other4	Seven hundred and forty two people attended the concert.
other5	Could you send me the report by Friday afternoon?
other6	The train to Edinburgh departs from platform nine.
EOF
# voice <TAB> speed (words/min) <TAB> pitch (0-99)
voices=("en-us	160	50" "en-gb	150	40" "en-us+f3	175	60" "en-gb-scotland+m3	140	45" "en+f4	165	70")
printf '%s\n' "$SENTENCES" | while IFS=$'\t' read -r id text; do
  for v in "${voices[@]}"; do
    IFS=$'\t' read -r voice speed pitch <<<"$v"
    tag="espeak__${id}__$(echo "$voice" | tr '+' '-')"
    espeak-ng -v "$voice" -s "$speed" -p "$pitch" -w "$tmp/audio/raw.wav" "$text"
    # 16 kHz mono 16-bit as a microphone stream would give, 0.8 x volume (espeak-ng's
    # full-scale peaks would clip when resampled), 0.3 s of silence before and after
    sox -V1 "$tmp/audio/raw.wav" -r 16000 -c 1 -b 16 "$tmp/audio/$tag.wav" vol 0.8 pad 0.3 0.3
    printf '%s\t%s\t%s\tespeak-ng %s -s %s -p %s\t%s\n' "$tag.wav" "$id" "espeak-ng" "$voice" "$speed" "$pitch" "$text" >>"$tmp/audio/list.tsv"
  done
done
if [[ -d "$tmp/alsa-utils/usr/share/sounds/alsa" ]]; then
  for f in "$tmp"/alsa-utils/usr/share/sounds/alsa/*.wav; do
    b=$(basename "$f" .wav)
    [[ "$b" == Noise ]] && continue
    sox -V1 "$f" -r 16000 -c 1 -b 16 "$tmp/audio/alsa__$b.wav" pad 0.3 0.3
    printf '%s\t%s\t%s\t%s\t%s\n' "alsa__$b.wav" "alsa_$b" "alsa-utils $(cat "$tmp/alsa-utils.version")" \
      "/usr/share/sounds/alsa/$b.wav (recorded speech)" "$(echo "$b" | tr '_' ' ')" >>"$tmp/audio/list.tsv"
  done
fi
"$py" - "$tmp/audio" "$cache/audio" <<'PY'
import hashlib, os, shutil, sys
src, out = sys.argv[1], sys.argv[2]
rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(src, "list.tsv"))]
groups = sorted({r[1] for r in rows}, key=lambda g: hashlib.sha256(g.encode()).hexdigest())
split = {g: ("calib" if i % 2 == 0 else "eval") for i, g in enumerate(groups)}
with open(os.path.join(out, "manifest.tsv"), "w") as m:
    m.write("split\tfile\tutterance\tsource\thow\ttext\n")
    for f, utt, source, how, text in sorted(rows, key=lambda r: (split[r[1]], r[0])):
        shutil.copyfile(os.path.join(src, f), os.path.join(out, split[utt], f))
        m.write(f"{split[utt]}\t{f}\t{utt}\t{source}\t{how}\t{text}\n")
for s in ("calib", "eval"):
    fs = os.listdir(os.path.join(out, s))
    print(f"fetch_photos: audio {s}: {len(fs)} clips ({sum(1 for g in groups if split[g] == s)} utterances, "
          f"{sum(1 for f in fs if f.startswith('alsa__'))} recorded)")
PY
echo "fetch_photos: done: $cache/photos, $cache/audio"
