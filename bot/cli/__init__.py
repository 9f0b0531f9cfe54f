"""The operator's command line: run, db, config, scheduler, plugins, doctor, manifest."""
