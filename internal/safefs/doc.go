// Package safefs creates and opens the files countysync keeps for itself
// (the state folder, lock files, temporary and work files under
// .countysync/) without following symbolic links, so that whoever can
// write in an export directory cannot plant a link that makes countysync
// overwrite or read another file: new files are created exclusively
// (O_CREAT|O_EXCL, which never follows a link), existing ones are opened
// with O_NOFOLLOW, and the folders are refused when they are links or
// belong to another user.
package safefs
