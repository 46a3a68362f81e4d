"""Import a cohort's notebooks from an LMS download (a folder or a zip) into nbgrader's `submitted/` layout.

Whose a notebook is comes from the LMS's own identity for the learner, never from a prefix a learner can put
in a file name, and a learner's folder wins over the names of the files in it. The download's format is
recognised from its names (the one whose conventions claim most files); a top folder wrapping everything
(Teams' `Student Work/`, a Google Drive zip's folder, the folder a zip was extracted into) is seen through.
The conventions, as each LMS writes them:

- Moodle (mod/assign's "Download all submissions"): a folder per learner and plugin,
  `<Full Name>_<participant number>_assignsubmission_file_/<file>`, or, with "download as folders" off, flat
  `<Full Name>_<number>_assignsubmission_file_<file>` (Moodle writes `_` in names as spaces). The number is the
  assignment's participant number (`get_uniqueid_for_user`), the identity; under blind marking the name is
  `Participant` and the learner id `participant_<number>`. Zip entries keep the files' times.
- Canvas (an assignment's "Download Submissions"): flat `<sortable name>[_LATE]_<user id>_<file id>_<file>`,
  the name lower case without separators (`lovelaceada`); a file handed in again under the same name gets
  `-1`, `-2`… before its extension. The user id is the identity; the higher file id is the later. Canvas's
  zip entries carry the time the zip was made (canvas-lms#2219), so no submission time is written; LATE is
  reported.
- Brightspace (D2L): `<submission id>-<user id> - <First Last or Last, First> - <Mon D, YYYY HMM AM>`, a
  folder, or a file name followed by ` - <file>`; the user id is the identity, the date the time.
- Blackboard (Assignment File Download): `<assignment>_<user name>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>`
  beside a `.txt` receipt; the user name is the identity (a user name holds no `_`), the date the time.
- nbgrader's exchange: `inbound/<student>+<assignment>+<timestamp>[+<random>]/`, the time from the
  `timestamp.txt` inside (else from the name), as nbgrader's own `collect` reads it.
- JupyterHub home folders: `jupyter-<user>/…` (the spawners' volume and pod names) or `home/<user>/…`.
- Teams ("Student Work/Submitted files/<Name>/<assignment>/…"; "Working files" are drafts, skipped), Google
  Classroom (a Drive zip of the assignment's folder, files named `<Name> - <file>`), or any download with a
  folder per learner or the learner's name before the notebook's (`ada_lovelace_lab1.ipynb`): the name is the
  only identity there is.

A file is a released notebook when its name, seen through copy and resubmission markers (`(1)`, `Copy of`,
`- Copy`, `-v2`, Canvas's `-1`…; see notebooks.py), is one. Of one learner's copies of a notebook the latest
by the LMS's time is placed, the others listed as superseded (choosing.py). Names become learner ids
reproducibly (names.py); a roster maps LMS identities to ids (roster.py); two learners on one id are refused,
never merged. Nothing outside the download is read (download.py). Times are the LMS's, written to
`timestamp.txt` in nbgrader's format (moments.py); nothing already placed is overwritten without `replace`,
and never another learner's work (placing.py). Every file of the download is reported: placed, superseded,
skipped or refused, with why.
"""

from pathlib import Path

from autograde.collect.choosing import choose
from autograde.collect.download import open_download
from autograde.collect.formats import sort_out
from autograde.collect.moments import zone_named
from autograde.collect.names import learner_id
from autograde.collect.outcome import Collected, Item, Placed
from autograde.collect.placing import place
from autograde.collect.roster import Roster
from autograde.course import Course
from autograde.errors import CollectError

__all__ = ["Collected", "Item", "Placed", "collect", "learner_id"]


def collect(*, source: Path, course_dir: Path | None = None, roster: Path | None = None, replace: bool = False,
            timezone: str | None = None) -> Collected:
    """Place every learner's notebook of `source` (a folder or a .zip) into `submitted/<learner>/<lab>/`.

    `roster`: a CSV mapping LMS identities to learner ids (only its learners are placed). `replace`: overwrite
    the same learner's earlier submission of a lab. `timezone`: the IANA zone of the LMS's local times (zip
    dates, Blackboard's and Brightspace's names); default this machine's.
    """
    course = Course.at(course_dir)
    notebooks = {path.stem: lab for lab in course.released_labs() for path in (course.release / lab).glob("*.ipynb")}
    if not notebooks:
        raise CollectError(f"{course.release}: no released lab: run `factorylab release` first")
    zone = zone_named(timezone)
    learners = Roster.read(Path(roster)) if roster else None
    with open_download(Path(source), zone) as download:
        sorted_out = sort_out(download.entries, list(notebooks), zone)
        choice = choose(sorted_out.found, learners)
        placed, unchanged, refused = place(course, choice.chosen, notebooks, replace)
    return Collected(format=sorted_out.format, placed=placed, superseded=choice.superseded,
                     skipped=download.skipped + sorted_out.skipped + unchanged, refused=choice.refused + refused)
