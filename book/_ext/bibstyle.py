"""An author–year label style for the bibliography, so that the list reads like the citations.

The text cites "(Bengio et al., 1994)" (``bibtex_reference_style: author_year``); pybtex's default
labels would show "[BSF94]" in the list. This registers a formatting style ``authoryear`` whose
labels are "Bengio et al., 1994".
"""

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def _surname(person) -> str:
    return " ".join(person.prelast_names + person.last_names) or "Anonymous"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            if not people:
                who = "Anonymous"
            elif len(people) == 1:
                who = _surname(people[0])
            elif len(people) == 2:
                who = f"{_surname(people[0])} and {_surname(people[1])}"
            else:
                who = f"{_surname(people[0])} et al."
            yield f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
