"""The incident's e-mail groups as people manage them: the notifications group's members."""
