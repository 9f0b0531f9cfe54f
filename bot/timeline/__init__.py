"""The incident timeline: capture by reaction, events added by hand, the timeline modal and its export."""
