"""The machinery of `client.<key>` resources, and the hand-written quirks of a few of them.

The resources themselves are generated (`kantata_async._generated`), one per collection;
`users` and `workweek_memberships` add what the facts cannot say (see their modules).
"""
