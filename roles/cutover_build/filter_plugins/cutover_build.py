"""The build's record of its images, kept out of Jinja.

  cutover_build_images(services, release, image_info, build_results) -> [{service, image, image_id, built}]
  cutover_build_plan_images(services, release, image_info)             -> [{service, image, exists}]
"""

from __future__ import annotations

from typing import Any


def cutover_build_images(services: Any, release: str, image_info: Any, build_results: Any) -> list[dict[str, Any]]:
    """One record per service: its image tag, the id the host has for it, and whether this
    build made it (a loop item of docker_image that changed)."""
    built = {
        r["item"]["name"] for r in (build_results or []) if isinstance(r, dict) and r.get("changed") and r.get("item")
    }
    out = []
    for service in services or []:
        ref = f"{service['image']}:{release}"
        info = next((i for i in image_info or [] if ref in (i.get("RepoTags") or [])), {})
        name = service["name"]
        out.append({"service": name, "image": ref, "image_id": info.get("Id"), "built": name in built})
    return out


def cutover_build_plan_images(services: Any, release: str, image_info: Any) -> list[dict[str, Any]]:
    """The build's dry run: each service's image tag and whether the host has it already."""
    return [
        {"service": image["service"], "image": image["image"], "exists": image["image_id"] is not None}
        for image in cutover_build_images(services, release, image_info, [])
    ]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"cutover_build_images": cutover_build_images, "cutover_build_plan_images": cutover_build_plan_images}
