"""Web API methods files.*: files uploaded (at once, or by the external upload URL) and shared."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack.state import ApiError, FileRecord, now
from bot.sandbox.slack.webapi.calls import Args, Family, missing


class Files(Family):
    """files.*"""

    def _share(self, file_ids: list[str], args: Args) -> None:
        targets = args.items("channels") or ([args.get("channel_id")] if args.get("channel_id") else [])
        for ref in targets:
            channel = self._post_target(ref)
            thread_ts = args.get("thread_ts")
            self.ws.post(
                channel,
                self.bot,
                text=args.text("initial_comment"),
                thread_ts=thread_ts,
                files=file_ids,
                subtype="file_share",
            )
            for fid in file_ids:
                self.ws.files[fid].channels.append(channel.id)

    def api_files_upload(self, args: Args) -> dict[str, Any]:
        content = args.get("content")
        upload = args.get("file")
        if content is None and upload is None:
            raise ApiError("no_file_data")
        data = content.encode() if isinstance(content, str) else bytes(upload or b"")
        record = FileRecord(
            id=self.ws.ids.next("F", 10),
            name=args.text("filename", "file"),
            title=args.text("title", args.text("filename", "file")),
            user=self.bot,
            content=data,
            created=now(),
            completed=True,
        )
        self.ws.files[record.id] = record
        self._share([record.id], args)
        return {"file": record.to_api()}

    def api_files_getUploadURLExternal(self, args: Args) -> dict[str, Any]:
        filename = args.require("filename")
        length = args.number("length", -1)
        if length < 0:
            raise missing("length")
        record = FileRecord(
            id=self.ws.ids.next("F", 10),
            name=str(filename),
            title=str(filename),
            user=self.bot,
            length=length,
            created=now(),
        )
        self.ws.files[record.id] = record
        return {"upload_url": self.host.upload_url(record.id), "file_id": record.id}

    def api_files_completeUploadExternal(self, args: Args) -> dict[str, Any]:
        entries = args.require("files")
        if not isinstance(entries, list) or not entries:
            raise ApiError("invalid_arguments")
        ids = []
        for entry in entries:
            record = self.ws.files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if record is None or record.content is None:
                raise ApiError("file_not_found")
            record.title = entry.get("title") or record.title
            record.completed = True
            ids.append(record.id)
        self._share(ids, args)
        return {"files": [self.ws.files[f].to_api() for f in ids]}

    def api_files_info(self, args: Args) -> dict[str, Any]:
        record = self.ws.files.get(args.require("file"))
        if record is None:
            raise ApiError("file_not_found")
        return {"file": record.to_api()}

    def api_files_delete(self, args: Args) -> dict[str, Any]:
        if self.ws.files.pop(args.require("file"), None) is None:
            raise ApiError("file_not_found")
        return {}
